// Checkout: the held seats and their price, the hold's clock, and the way to the
// payment provider's page. The order's Idempotency-Key is the hold's: paying twice for
// one hold (a double click, a reload) is the same order.
import { ApiError, api, countdown, duration, money, page, requireSignIn, t } from './lib.js';

const holdId = page().hold;
const providerPage = page().providerPage;
const seatList = document.getElementById('hold-seats');
const clock = document.getElementById('hold-clock');
const error = document.getElementById('checkout-error');
const pay = document.getElementById('pay');
const release = document.getElementById('release');

async function run() {
  if (!requireSignIn()) return;
  const mine = (await api('/api/v1/me/reservations?limit=200')).filter((r) => r.hold_id === holdId);
  if (mine.length === 0) {
    error.textContent = t('error_generic', { detail: holdId });
    return;
  }
  const schedule = mine[0].schedule_id;
  const prices = new Map((await api(`/api/v1/schedules/${schedule}/seats`)).seats.map((s) => [s.seat_no, Number(s.price)]));
  let amount = 0;
  for (const row of mine) {
    const item = document.createElement('li');
    item.textContent = `${row.seat_no} · ${money(prices.get(row.seat_no) ?? 0)}`;
    seatList.append(item);
    amount += prices.get(row.seat_no) ?? 0;
  }
  if (mine.some((r) => r.status !== 'HELD')) {
    clock.textContent = t(`state_${mine[0].status}`); // paid, given back or expired already
    release.hidden = true;
    return;
  }
  pay.textContent = t('pay_button', { amount: money(amount) });
  pay.disabled = false;
  const stop = countdown(
    new Date(mine[0].expires_at),
    (left) => {
      clock.textContent = t('checkout_expires', { time: duration(left) });
    },
    () => {
      clock.textContent = t('checkout_expired');
      pay.disabled = true;
    },
  );
  pay.addEventListener('click', async () => {
    pay.disabled = true;
    try {
      const order = await api('/api/v1/payments', {
        method: 'POST',
        body: { hold_id: holdId },
        headers: { 'Idempotency-Key': `pay-${holdId}` },
      });
      stop();
      location.assign(providerPage ? providerPage.replace('{order_no}', order.order_no) : `/orders/${order.order_no}`);
    } catch (failure) {
      pay.disabled = false;
      error.textContent = t('error_generic', { detail: failure.message });
    }
  });
  release.addEventListener('click', async () => {
    try {
      await api(`/api/v1/holds/${holdId}`, { method: 'DELETE' });
      location.assign(`/schedules/${schedule}/seats`);
    } catch (failure) {
      error.textContent = t('error_generic', { detail: failure instanceof ApiError ? failure.message : String(failure) });
    }
  });
}

run();
