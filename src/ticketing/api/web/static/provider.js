// The development payment provider's hosted page: it charges (or declines) and calls the
// service's webhook, signed, as a real provider would, then sends the buyer back.
import { api, money, page, requireSignIn, t } from './lib.js';

const orderNo = page().order;
const error = document.getElementById('provider-error');

async function finish(outcome) {
  for (const button of document.querySelectorAll('button')) button.disabled = true;
  try {
    await api(`/api/v1/dev/payments/${orderNo}/complete`, { method: 'POST', body: { outcome } });
    location.assign(`/orders/${orderNo}`);
  } catch (failure) {
    error.textContent = t('error_generic', { detail: failure.message });
    for (const button of document.querySelectorAll('button')) button.disabled = false;
  }
}

async function run() {
  if (!requireSignIn()) return;
  const order = await api(`/api/v1/payments/${orderNo}`);
  document.getElementById('amount').textContent = t('provider_amount', { amount: money(order.amount) });
  document.getElementById('provider-pay').addEventListener('click', () => finish('PAID'));
  document.getElementById('provider-decline').addEventListener('click', () => finish('FAILED'));
}

run();
