// My tickets: every reservation of the signed-in buyer and its state; a confirmed seat
// shows its ticket, a QR code of the signed ticket the door's scanner checks.
import { api, apiImage, requireSignIn, t } from './lib.js';

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
    const ticket = document.createElement('td');
    if (row.status === 'CONFIRMED') {
      const show = document.createElement('button');
      show.type = 'button';
      show.className = 'secondary';
      show.textContent = t('ticket_show');
      show.addEventListener('click', async () => {
        const image = document.createElement('img');
        image.className = 'qr';
        image.alt = t('ticket_qr_alt', { seat: row.seat_no });
        image.src = await apiImage(`/api/v1/me/tickets/${row.reservation_id}/qr.svg`);
        show.replaceWith(image);
      });
      ticket.append(show);
    }
    line.append(ticket);
    body.append(line);
  }
  table.hidden = false;
}

run();
