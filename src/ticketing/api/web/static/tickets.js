// My tickets: every reservation of the signed-in buyer and its state.
import { api, requireSignIn, t } from './lib.js';

async function run() {
  if (!requireSignIn()) return;
  const rows = await api('/api/v1/me/reservations?limit=200');
  const table = document.getElementById('tickets');
  if (rows.length === 0) {
    document.getElementById('tickets-empty').hidden = false;
    return;
  }
  const body = table.querySelector('tbody');
  for (const row of rows) {
    const line = document.createElement('tr');
    line.dataset.status = row.status;
    for (const text of [`#${row.schedule_id}`, row.seat_no, t(`state_${row.status}`)]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      line.append(cell);
    }
    body.append(line);
  }
  table.hidden = false;
}

run();
