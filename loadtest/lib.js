// Shared by the k6 scenarios: environment, token files, per-endpoint metrics, and a buyer's steps.
//
// Every request goes through an Endpoint, which records its latency (Trend `<name>_ms`),
// its count (Counter `<name>_reqs`, whose rate is the endpoint's throughput) and its
// status (Counter `<name>_status_<code>`), so a summary says exactly what each endpoint
// answered, not only how many requests "failed".
//
// Scenarios with thousands of users run many users per VU with async requests: a VU
// costs megabytes and milliseconds to start, while a waiting user is just a timer.

import http from 'k6/http';
import crypto from 'k6/crypto';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

// Statuses counted one by one; anything else lands in `<name>_status_other`. 0 = no answer.
const TRACKED_STATUSES = [0, 200, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504];
const REQUEST_TIMEOUT = __ENV.REQUEST_TIMEOUT || '30s';

export function required(name) {
  const value = __ENV[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is required`);
  }
  return value;
}

export function envInt(name, fallback) {
  const value = __ENV[name];
  if (value === undefined || value === '') {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new Error(`environment variable ${name} must be a number, got ${value}`);
  }
  return Math.trunc(n);
}

// One bearer token per line, as `ticketing token --count N --prefix P` prints them (user P<i+1> at index i).
export function loadTokens(path) {
  return new SharedArray(`tokens:${path}`, () =>
    open(path)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0),
  );
}

export class Endpoint {
  constructor(name) {
    this.name = name;
    this.ms = new Trend(`${name}_ms`, true);
    this.reqs = new Counter(`${name}_reqs`);
    this.byStatus = {};
    for (const code of TRACKED_STATUSES) {
      this.byStatus[code] = new Counter(`${name}_status_${code}`);
    }
    this.otherStatus = new Counter(`${name}_status_other`);
  }

  record(res) {
    this.ms.add(res.timings.duration);
    this.reqs.add(1);
    (this.byStatus[res.status] || this.otherStatus).add(1);
    return res;
  }

  params(headers) {
    return { headers, tags: { name: this.name }, timeout: REQUEST_TIMEOUT, responseCallback: EXPECTED };
  }

  request(method, path, body, headers) {
    return this.record(http.request(method, `${BASE_URL}${path}`, body, this.params(headers)));
  }

  async requestAsync(method, path, body, headers) {
    return this.record(await http.asyncRequest(method, `${BASE_URL}${path}`, body, this.params(headers)));
  }
}

// 409 is an answer the scenarios expect (seat taken), not a failed request.
const EXPECTED = http.expectedStatuses({ min: 200, max: 299 }, 409);

export function bearer(token, extra) {
  return Object.assign({ Authorization: `Bearer ${token}` }, extra || {});
}

export function json(extra) {
  return Object.assign({ 'Content-Type': 'application/json' }, extra || {});
}

export function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export function body(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

export function problemCode(res) {
  const b = body(res);
  return b && typeof b === 'object' ? b.code : undefined;
}

// Seat names of the rows x cols generator: A-1 .. A-<cols>, B-1 .., AA-1 after Z.
export function rowLetters(index) {
  let letters = '';
  let n = index + 1;
  while (n > 0) {
    const rem = (n - 1) % 26;
    letters = String.fromCharCode(65 + rem) + letters;
    n = Math.floor((n - 1) / 26);
  }
  return letters;
}

export function seatName(index, cols) {
  return `${rowLetters(Math.floor(index / cols))}-${(index % cols) + 1}`;
}

// Every user index handled by one VU when `users` are spread over `vus` VUs. `slot` is
// 1..vus within the buyers' scenario (exec.scenario.iterationInTest + 1 with one
// iteration per VU); exec.vu.idInTest would also count a second scenario's VUs (sellout's
// watcher), giving two buyers the same users.
export function usersOfVu(slot, vus, users) {
  const mine = [];
  for (let u = slot - 1; u < users; u += vus) {
    mine.push(u);
  }
  return mine;
}

// Counters that must show in the summary even when nothing happened (a 0 is a result too).
export function touch(...counters) {
  for (const c of counters) {
    c.add(0);
  }
}

// ---- a buyer's steps (async), shared by burst, pass_ttl and sellout ----

export const ep = {
  enter: new Endpoint('enter'),
  status: new Endpoint('status'),
  leave: new Endpoint('leave'),
  hold: new Endpoint('hold'),
  pay: new Endpoint('pay'),
  webhook: new Endpoint('webhook'),
  reservations: new Endpoint('reservations'),
  seats: new Endpoint('seats'),
};

export const admissionWait = new Trend('admission_wait_ms', true);
export const requeued = new Counter('requeued'); // the pass expired before it was used: back in line
export const gaveUpWaiting = new Counter('gave_up_waiting'); // the user's time budget ran out in the line
export const toldSoldOut = new Counter('told_sold_out'); // the line answered SOLD_OUT: every seat is sold

function queuePath(scheduleId) {
  return `/api/v1/schedules/${scheduleId}/queue`;
}

// Enter the line and poll at the pace the server sets until admitted.
// Returns the pass token, or null when `deadline` (epoch ms) passes first or the line is sold out.
export async function waitForPass(scheduleId, token, deadline) {
  const started = Date.now();
  let res = await ep.enter.requestAsync('POST', queuePath(scheduleId), null, bearer(token));
  let answer = body(res);
  check(res, { 'enter answered 200/202': (r) => r.status === 200 || r.status === 202 });
  while (Date.now() < deadline) {
    if (answer && answer.status === 'SOLD_OUT') {
      toldSoldOut.add(1);
      return null;
    }
    if (answer && answer.status === 'ADMITTED') {
      admissionWait.add(Date.now() - started);
      return answer.pass_token;
    }
    if (answer && answer.status === 'NOT_IN_QUEUE') {
      // The pass expired before this user polled again: the server dropped it; queue again.
      requeued.add(1);
      res = await ep.enter.requestAsync('POST', queuePath(scheduleId), null, bearer(token));
      answer = body(res);
      continue;
    }
    const pollAfterMs = answer && answer.poll_after_ms ? answer.poll_after_ms : 1000;
    await sleepMs(Math.min(pollAfterMs, deadline - Date.now()));
    res = await ep.status.requestAsync('GET', queuePath(scheduleId), null, bearer(token));
    check(res, { 'status answered 200': (r) => r.status === 200 });
    answer = body(res);
  }
  gaveUpWaiting.add(1);
  return null;
}

export async function leaveQueue(scheduleId, token) {
  const res = await ep.leave.requestAsync('DELETE', queuePath(scheduleId), null, bearer(token));
  check(res, { 'leave answered 204': (r) => r.status === 204 });
  return res;
}

export async function holdSeats(scheduleId, token, passToken, seatNos) {
  const headers = json(bearer(token, { 'X-Queue-Pass': passToken }));
  return ep.hold.requestAsync('POST', `/api/v1/schedules/${scheduleId}/holds`, JSON.stringify({ seat_nos: seatNos }), headers);
}

// A request that got no answer (status 0: timeout, connection reset) may still have been applied.
export const noAnswerRetries = new Counter('no_answer_retries');
export const holdsRecovered = new Counter('holds_recovered');
const NO_ANSWER_RETRIES = 2;

// Payment creation (same Idempotency-Key) and the provider's completion are idempotent by
// contract, so a buyer that got no answer sends them again, as an app would.
async function idempotent(send) {
  let res = await send();
  for (let i = 0; i < NO_ANSWER_RETRIES && res.status === 0; i += 1) {
    noAnswerRetries.add(1);
    res = await send();
  }
  return res;
}

// A hold is not idempotent. After no answer the buyer looks at its reservations (as a page
// reload would) and carries on with a HELD one; so it does after 422 TOO_MANY_SEATS, which
// means an earlier hold of its own that got no answer did go through.
// Returns { res, holdId }: holdId is set on a 201 or a recovered hold, null otherwise.
export async function holdOrRecover(scheduleId, token, passToken, seatNos) {
  const res = await holdSeats(scheduleId, token, passToken, seatNos);
  if (res.status === 201) {
    return { res, holdId: res.json().hold_id };
  }
  const maybeHeld = res.status === 0 || (res.status === 422 && problemCode(res) === 'TOO_MANY_SEATS');
  if (!maybeHeld) {
    return { res, holdId: null };
  }
  const mine = await idempotent(() => ep.reservations.requestAsync('GET', '/api/v1/me/reservations', null, bearer(token)));
  const rows = mine.status === 200 ? body(mine) || [] : [];
  const held = rows.filter((r) => r.status === 'HELD' && String(r.schedule_id) === String(scheduleId));
  const pick = held.find((r) => seatNos.includes(r.seat_no)) || held[0];
  if (pick) {
    holdsRecovered.add(1);
  }
  return { res, holdId: pick ? pick.hold_id : null };
}

export const paymentToConfirmed = new Trend('payment_to_confirmed_ms', true);
export const confirmedAt = new Trend('confirmed_at_ms', true); // since the sale started, per confirmed buyer
export const confirmTimeouts = new Counter('confirm_timeouts');
export const payFailures = new Counter('pay_failures');

// Polls for CONFIRMED often at first and then less, so a slow pipeline is not buried in polls.
const CONFIRM_POLL_FIRST_MS = 10;
const CONFIRM_POLL_MAX_MS = 100;

// The payment provider's side, played here as a real gateway plays it (from outside the
// service): the order's PAID event, signed with the webhook secret, posted to the webhook.
// (The API's development provider would run this same webhook through the API a second
// time, in the API's own process: CPU no real sale spends there.) One transaction id per
// order, so a repeat after no answer is the same event again.
const WEBHOOK_SECRET = __ENV.WEBHOOK_SECRET || '';

function providerPaid(order) {
  const event = JSON.stringify({
    order_no: order.order_no,
    amount: Number(order.amount).toFixed(2),
    status: 'PAID',
    pg_tx_id: `k6_${order.order_no}`,
    timestamp: Math.floor(Date.now() / 1000),
  });
  const signature = crypto.hmac('sha256', WEBHOOK_SECRET, event, 'hex');
  return ep.webhook.requestAsync('POST', `/api/v1/payments/${order.order_no}/webhook`, event, json({ 'X-Signature': signature }));
}

// Pay for a hold (the provider's PAID webhook), then wait until the reservation is CONFIRMED.
// Records payment-to-confirmed latency: from the webhook's answer to CONFIRMED seen.
export async function payAndConfirm(token, holdId, saleStartedAt, deadline) {
  const headers = json(bearer(token, { 'Idempotency-Key': `pay-${holdId}` }));
  const order = await idempotent(() =>
    ep.pay.requestAsync('POST', '/api/v1/payments', JSON.stringify({ hold_id: holdId }), headers),
  );
  // 200: the same order again (a retry after no answer that had been applied).
  if (!check(order, { 'payment created 201 (or 200 on a retry)': (r) => r.status === 201 || r.status === 200 })) {
    payFailures.add(1);
    return false;
  }
  const paid = await idempotent(() => providerPaid(body(order)));
  if (!check(paid, { 'provider PAID webhook 200': (r) => r.status === 200 })) {
    payFailures.add(1);
    return false;
  }
  const paidAt = Date.now();
  let interval = CONFIRM_POLL_FIRST_MS;
  while (Date.now() < deadline) {
    const res = await ep.reservations.requestAsync('GET', '/api/v1/me/reservations', null, bearer(token));
    const rows = body(res) || [];
    const mine = rows.filter((r) => r.hold_id === holdId);
    if (mine.length > 0 && mine.every((r) => r.status === 'CONFIRMED')) {
      const now = Date.now();
      paymentToConfirmed.add(now - paidAt);
      confirmedAt.add(now - saleStartedAt);
      return true;
    }
    await sleepMs(interval);
    interval = Math.min(CONFIRM_POLL_MAX_MS, Math.ceil(interval * 1.5));
  }
  confirmTimeouts.add(1);
  return false;
}

// The seat map as { seat_no: status } without JSON.parse: the body is ~85 bytes per seat,
// and parsing thousands of them in every VU would cost the load generator more than the server.
const SEAT_RE = /"seat_no":"([^"]+)"[^}]*"status":"([A-Z_]+)"/g;

export function parseSeatMap(res) {
  const states = {};
  if (res.status === 200 && res.body) {
    for (const m of res.body.matchAll(SEAT_RE)) {
      states[m[1]] = m[2];
    }
  }
  return states;
}

// A buyer reads the map signed in (counted per user); without a token it is counted per address.
export async function seatMap(scheduleId, token) {
  const headers = token ? bearer(token) : {};
  return parseSeatMap(await ep.seats.requestAsync('GET', `/api/v1/schedules/${scheduleId}/seats`, null, headers));
}

export function seatMapSync(scheduleId) {
  return parseSeatMap(ep.seats.request('GET', `/api/v1/schedules/${scheduleId}/seats`, null, {}));
}

export function countStates(states) {
  const counts = {};
  for (const status of Object.values(states)) {
    counts[status] = (counts[status] || 0) + 1;
  }
  return counts;
}
