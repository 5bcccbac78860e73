// The live seat map: every seat's state from the API, then the changes pushed by the
// seat stream; pick up to the limit, hold them behind the waiting-room pass. Without a
// pass (or signed out) the map is there to watch, and the way in is the queue.
import { ApiError, api, claims, countdown, duration, money, page, t } from './lib.js';

const schedule = page().schedule;
const maxSeats = Number(page().maxSeats);
const mapNode = document.getElementById('map');
const picked = document.getElementById('picked');
const total = document.getElementById('total');
const holdButton = document.getElementById('hold');
const holdError = document.getElementById('hold-error');
const clock = document.getElementById('pass-clock');

const seats = new Map(); // seat_no -> {price, status, node}
const chosen = new Set();
let holdKey = null; // one Idempotency-Key per choice: a retried click is the same hold
let canPick = false; // a signed-in buyer with a pass

function passOf() {
  try {
    return JSON.parse(sessionStorage.getItem(`pass:${schedule}`));
  } catch {
    return null;
  }
}

function backToQueue() {
  sessionStorage.removeItem(`pass:${schedule}`);
  location.assign(`/schedules/${schedule}/queue`);
}

function column(seatNo) {
  return Number(seatNo.split('-').pop());
}

function paint(seatNo) {
  const seat = seats.get(seatNo);
  const mine = chosen.has(seatNo);
  seat.node.className = `seat ${seat.status}${mine ? ' mine' : ''}`;
  seat.node.disabled = seat.status !== 'AVAILABLE' && !mine;
  seat.node.setAttribute('aria-pressed', String(mine));
  const state = mine ? t('status_mine') : t(`status_${seat.status.toLowerCase()}`);
  seat.node.setAttribute('aria-label', `${seatNo}, ${money(seat.price)}, ${state}`);
}

function summarise() {
  const list = [...chosen].sort();
  picked.textContent = list.length ? t('seats_selected', { seats: list.join(', ') }) : t('seats_none');
  const sum = list.reduce((acc, seatNo) => acc + Number(seats.get(seatNo).price), 0);
  total.textContent = list.length ? t('seats_total', { amount: money(sum) }) : '';
  holdButton.disabled = list.length === 0;
  holdKey = null;
}

function toggle(seatNo) {
  if (!canPick) return;
  holdError.textContent = '';
  if (chosen.has(seatNo)) {
    chosen.delete(seatNo);
  } else if (chosen.size >= maxSeats) {
    holdError.textContent = t('hold_too_many', { max: maxSeats });
    return;
  } else if (seats.get(seatNo).status === 'AVAILABLE') {
    chosen.add(seatNo);
  }
  paint(seatNo);
  summarise();
}

function update(states) {
  for (const [seatNo, status] of Object.entries(states)) {
    const seat = seats.get(seatNo);
    if (!seat) continue;
    seat.status = status;
    if (status !== 'AVAILABLE' && chosen.has(seatNo)) {
      chosen.delete(seatNo);
      summarise();
    }
    paint(seatNo);
  }
}

function draw(seatList) {
  const rows = new Map();
  for (const seat of seatList) {
    if (!rows.has(seat.row_label)) rows.set(seat.row_label, []);
    rows.get(seat.row_label).push(seat);
  }
  mapNode.replaceChildren();
  for (const [label, row] of rows) {
    const line = document.createElement('div');
    line.className = 'row';
    const name = document.createElement('span');
    name.className = 'row-label';
    name.textContent = label;
    line.append(name);
    row.sort((a, b) => column(a.seat_no) - column(b.seat_no));
    for (const seat of row) {
      const node = document.createElement('button');
      node.type = 'button';
      node.dataset.seat = seat.seat_no;
      node.textContent = column(seat.seat_no);
      node.addEventListener('click', () => toggle(seat.seat_no));
      seats.set(seat.seat_no, { price: seat.price, status: seat.status, node });
      line.append(node);
      paint(seat.seat_no);
    }
    mapNode.append(line);
  }
}

async function hold(pass) {
  holdButton.disabled = true;
  holdError.textContent = '';
  holdKey = holdKey ?? crypto.randomUUID();
  const seatNos = [...chosen].sort();
  try {
    const answer = await api(`/api/v1/schedules/${schedule}/holds`, {
      method: 'POST',
      body: { seat_nos: seatNos },
      headers: { 'X-Queue-Pass': pass.token, 'Idempotency-Key': holdKey },
    });
    location.assign(`/checkout/${answer.hold_id}`);
  } catch (error) {
    holdButton.disabled = false;
    if (!(error instanceof ApiError)) {
      holdError.textContent = t('retrying'); // same key: pressing again is the same hold
      return;
    }
    if (error.code.startsWith('PASS_')) return backToQueue();
    if (error.code === 'SEAT_TAKEN') {
      const taken = error.problem.seat_nos || [];
      update(Object.fromEntries(taken.map((seatNo) => [seatNo, 'HELD'])));
      holdError.textContent = t('hold_taken', { seats: taken.join(', ') });
      return;
    }
    if (error.code === 'TOO_MANY_SEATS') {
      holdError.textContent = t('hold_too_many', { max: maxSeats });
      return;
    }
    holdError.textContent = t('error_generic', { detail: error.message });
  }
}

function watchOnly() {
  holdButton.hidden = true;
  clock.replaceChildren();
  const join = document.createElement('a');
  join.className = 'button';
  join.href = `/schedules/${schedule}/queue`;
  join.textContent = t('join_queue');
  clock.append(join);
}

async function run() {
  const pass = claims() ? passOf() : null;
  canPick = pass !== null;
  if (!pass) watchOnly();
  else countdown(
    new Date(pass.expires_at),
    (left) => {
      clock.textContent = t('pass_expires', { time: duration(left) });
    },
    () => {
      clock.textContent = t('pass_gone');
    },
  );
  holdButton.addEventListener('click', () => hold(pass));
  const map = await api(`/api/v1/schedules/${schedule}/seats`);
  draw(map.seats);
  summarise();
  const stream = new EventSource(`/api/v1/schedules/${schedule}/seats/stream`);
  stream.addEventListener('hello', (message) => update(JSON.parse(message.data).seats));
  stream.addEventListener('seats', (message) => update(JSON.parse(message.data).seats));
  stream.addEventListener('resync', async () => update(Object.fromEntries((await api(`/api/v1/schedules/${schedule}/seats`)).seats.map((s) => [s.seat_no, s.status]))));
}

run();
