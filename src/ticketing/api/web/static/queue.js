// The waiting room. The page joins the line once, learns its ticket number, and then
// follows the line's one pushed number -- the last ticket admitted, published by the
// advancer's tick to every waiter at once -- to count the people still ahead of it.
// It asks the API again only when its own turn has come (or, without the push, at the
// pace the API sets). Sold out, it stops asking but keeps listening: should a seat come
// back, the line reopens and the page takes up its place again.
import { ApiError, api, duration, page, requireSignIn, sleep, t } from './lib.js';

const schedule = page().schedule;
const queuePath = `/api/v1/schedules/${schedule}/queue`;
const place = document.getElementById('place');
const aheadNode = document.getElementById('ahead');
const eta = document.getElementById('eta');
const notice = document.getElementById('notice');
const bar = document.getElementById('bar');
const progress = bar.parentElement;

let ticket = null;
let firstAhead = null;
let stream = null;
let asking = false;
let done = false;
let paused = false;
let soldOut = false;

function show(ahead, perSecond) {
  firstAhead = firstAhead ?? Math.max(ahead, 1);
  place.textContent = t('queue_position', { position: ahead + 1 });
  aheadNode.textContent = t('queue_ahead', { ahead });
  eta.textContent = perSecond > 0 ? t('queue_eta', { time: duration(ahead / perSecond) }) : t('queue_eta_unknown');
  const percent = Math.round(100 * Math.min(1, Math.max(0, 1 - ahead / firstAhead)));
  bar.style.width = `${percent}%`;
  progress.setAttribute('aria-valuenow', String(percent));
}

function admitted(answer) {
  done = true;
  stream?.close();
  sessionStorage.setItem(`pass:${schedule}`, JSON.stringify({ token: answer.pass_token, expires_at: answer.pass_expires_at }));
  place.textContent = t('queue_admitted');
  aheadNode.textContent = '';
  eta.textContent = '';
  bar.style.width = '100%';
  progress.setAttribute('aria-valuenow', '100');
  location.assign(`/schedules/${schedule}/seats`);
}

function say(message) {
  place.textContent = message;
  aheadNode.textContent = '';
  eta.textContent = '';
}

function closed(message) {
  done = true;
  stream?.close();
  say(message);
}

/** Every seat sold: nothing to ask until the line says a seat came back. */
function soldOutNow() {
  soldOut = true;
  say(t('queue_sold_out'));
}

/** One answer of enter or status; returns how long to wait before asking again. */
function handle(answer) {
  notice.textContent = paused ? t('queue_paused') : '';
  switch (answer.status) {
    case 'ADMITTED':
      admitted(answer);
      return null;
    case 'WAITING':
      ticket = answer.ticket;
      show(answer.ahead, answer.ahead > 0 && answer.eta_s > 0 ? answer.ahead / answer.eta_s : 0);
      return answer.poll_after_ms;
    case 'SOLD_OUT':
      soldOutNow();
      return null;
    default: // NOT_IN_QUEUE: the line forgot us (or we left in another tab): join again
      ticket = null;
      return 0;
  }
}

async function ask() {
  if (asking || done || soldOut) return null;
  asking = true;
  try {
    return handle(await api(queuePath, { method: ticket === null ? 'POST' : 'GET' }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) return (Number(error.problem.retry_after_ms) || 1000);
    if (error instanceof ApiError && error.code === 'SALE_CLOSED') {
      closed(t('queue_closed'));
      return null;
    }
    if (error instanceof ApiError && error.code === 'SALE_NOT_OPEN') {
      notice.textContent = t('queue_not_open');
      return 5000;
    }
    if (error instanceof ApiError && error.status === 401) {
      requireSignIn();
      return null;
    }
    notice.textContent = t('retrying');
    return 2000;
  } finally {
    asking = false;
  }
}

function follow() {
  if (!('EventSource' in window)) return false;
  stream = new EventSource(`${queuePath}/stream`);
  stream.addEventListener('admission', (message) => {
    const line = JSON.parse(message.data);
    if (line.closed) return closed(t('queue_closed'));
    if ('paused' in line) {
      paused = line.paused;
      notice.textContent = paused ? t('queue_paused') : '';
    }
    if (line.sold_out) return soldOutNow();
    if (soldOut && line.sold_out === false) {
      soldOut = false; // a seat came back: the line reopened
      ask();
      return;
    }
    if (ticket === null || done) return;
    if (line.served >= ticket) {
      ask(); // our turn: the status answer carries the pass
    } else {
      show(ticket - line.served - 1, line.per_s);
    }
  });
  stream.addEventListener('error', () => {
    if (!done) notice.textContent = t('retrying'); // EventSource reconnects by itself
  });
  return true;
}

async function run() {
  if (!requireSignIn()) return;
  document.getElementById('leave').addEventListener('click', async () => {
    done = true;
    stream?.close();
    await api(queuePath, { method: 'DELETE' }).catch(() => null);
    closed(t('queue_left'));
  });
  let wait = await ask();
  const pushed = follow();
  // Without the push, poll at the server's pace. With it, check in now and then anyway,
  // at the same pace floor, in case a message was missed while reconnecting. Sold out,
  // only a page without the push asks (now and then, to see the line reopen).
  while (!done) {
    await sleep(Math.max(wait ?? 1000, pushed ? 10000 : 0, soldOut ? 30000 : 0));
    if (done || (soldOut && pushed)) continue;
    soldOut = false;
    wait = await ask();
  }
}

run();
