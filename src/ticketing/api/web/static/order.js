// After the provider: wait for the order to be paid and its seats confirmed (or refunded).
import { api, page, requireSignIn, sleep, t } from './lib.js';

const orderNo = page().order;
const state = document.getElementById('order-state');
const seatList = document.getElementById('order-seats');

function seats(rows) {
  seatList.replaceChildren(
    ...rows.map((row) => {
      const item = document.createElement('li');
      item.textContent = `${row.seat_no} · ${t(`state_${row.status}`)}`;
      return item;
    }),
  );
}

async function run() {
  if (!requireSignIn()) return;
  let wait = 250;
  for (let round = 0; round < 240; round += 1) {
    const order = await api(`/api/v1/payments/${orderNo}`).catch(() => null);
    if (order) {
      const rows = (await api('/api/v1/me/reservations?limit=200')).filter((r) => r.hold_id === order.hold_id);
      seats(rows);
      const statuses = new Set(rows.map((r) => r.status));
      if (order.status === 'FAILED') {
        state.textContent = t('order_failed');
        return;
      }
      if (rows.length && [...statuses].every((s) => s === 'CONFIRMED')) {
        state.textContent = t('order_confirmed');
        return;
      }
      if (statuses.has('REFUND_PENDING') || statuses.has('REFUNDED')) {
        state.textContent = t('order_refunded');
        return;
      }
      state.textContent = order.status === 'READY' ? t('order_ready') : t('order_waiting');
    }
    await sleep(wait);
    wait = Math.min(2000, wait * 1.5);
  }
}

run();
