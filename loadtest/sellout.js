// sellout.js: many more buyers than seats, the whole journey to a confirmed seat: queue, pass,
// hold, payment (Idempotency-Key), the fake provider's PAID webhook, then GET /me/reservations
// until CONFIRMED. Records payment-to-confirmed latency, when each seat was confirmed (time to
// sell out, confirmations per second) and what every endpoint answered.
//
// Picking a seat: a few random seats first (a 409 costs the server one Lua call); after that the
// seat map, for a random AVAILABLE seat. A buyer who finds no AVAILABLE seat on the map gives the
// pass back and goes home. The map is ~85 bytes per seat and costly to build, so buyers read it
// only when guessing failed, not on every attempt.
//
// A second scenario, the watcher, reads the seat map once a second. When every seat is SOLD it
// waits SOLD_OUT_GRACE_MS (so buyers still polling for CONFIRMED record their latency) and ends
// the test with exec.test.abort('sold out'): k6 then exits with code 108 and still writes its
// summary. The rest of the line would only learn that the show is sold out.
//
// Env:
//   BASE_URL, SCHEDULE_ID (required), TOKENS_FILE (required)
//   SEATS, SEAT_COLS  the schedule's seat count and grid columns (required)
//   USERS (default: every token), VUS (default min(USERS, 200)), RAMP_S entering spread (default 5)
//   PROBES        random seats tried before reading the map (default 4)
//   MAP_ROUNDS    seat-map reads before giving up (default 3)
//   USER_BUDGET_S a buyer gives up after this long (default 240)
//   SOLD_OUT_GRACE_MS  default 2000;  MAX_DURATION  default 300s
//
// Run: k6 run --no-usage-report -e SCHEDULE_ID=1 -e TOKENS_FILE=/abs/t.txt -e SEATS=1000 -e SEAT_COLS=50 loadtest/sellout.js

import exec from 'k6/execution';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import {
  Endpoint,
  SUMMARY_TREND_STATS,
  confirmTimeouts,
  countStates,
  envInt,
  gaveUpWaiting,
  toldSoldOut,
  holdOrRecover,
  holdsRecovered,
  leaveQueue,
  loadTokens,
  noAnswerRetries,
  parseSeatMap,
  payAndConfirm,
  payFailures,
  problemCode,
  requeued,
  required,
  seatMap,
  seatName,
  sleepMs,
  touch,
  usersOfVu,
  waitForPass,
} from './lib.js';

const SCHEDULE_ID = required('SCHEDULE_ID');
const SEATS = Number(required('SEATS'));
const SEAT_COLS = Number(required('SEAT_COLS'));
const tokens = loadTokens(required('TOKENS_FILE'));
const USERS = envInt('USERS', tokens.length);
const VUS = envInt('VUS', Math.min(USERS, 200));
const RAMP_MS = envInt('RAMP_S', 5) * 1000;
const PROBES = envInt('PROBES', 4);
const MAP_ROUNDS = envInt('MAP_ROUNDS', 3);
const USER_BUDGET_MS = envInt('USER_BUDGET_S', 240) * 1000;
const SOLD_OUT_GRACE_MS = envInt('SOLD_OUT_GRACE_MS', 2000);
const WATCH_MS = 1000;

const bought = new Counter('bought');
const soldOutSeen = new Counter('sold_out_seen'); // buyers who found no AVAILABLE seat on the map
const holdFailed = new Counter('hold_failed'); // any hold answer but 201, 409 SEAT_TAKEN, 403 pass, no answer
const seatTaken = new Counter('seat_taken');
const soldOut = new Counter('sold_out'); // 1 when the watcher saw every seat SOLD
const soldOutAt = new Trend('sold_out_seen_at_ms', true); // by the watcher, since the sale started
const watcherSeats = new Endpoint('watcher_seats'); // kept apart from the buyers' seat-map reads

export const options = {
  scenarios: {
    buyers: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: __ENV.MAX_DURATION || '300s' },
    watcher: { executor: 'per-vu-iterations', vus: 1, iterations: 1, exec: 'watch', maxDuration: __ENV.MAX_DURATION || '300s' },
  },
  setupTimeout: '30s',
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: {
    bought: [`count==${SEATS}`],
    sold_out: ['count==1'],
    hold_failed: ['count==0'],
    pay_failures: ['count==0'],
    confirm_timeouts: ['count==0'],
  },
};

export function setup() {
  if (USERS > tokens.length) {
    throw new Error(`USERS=${USERS} but only ${tokens.length} tokens`);
  }
  touch(bought, soldOutSeen, toldSoldOut, holdFailed, seatTaken, soldOut, requeued, gaveUpWaiting, payFailures);
  touch(confirmTimeouts);
  touch(holdsRecovered, noAnswerRetries);
  return { startAt: Date.now() + 500 };
}

function randomSeat() {
  return seatName(Math.floor(Math.random() * SEATS), SEAT_COLS);
}

// A random AVAILABLE seat from the map, or null when the map shows none: sold out (or every seat
// held by someone paying for it).
async function availableSeat(token) {
  const states = await seatMap(SCHEDULE_ID, token);
  const available = Object.keys(states).filter((s) => states[s] === 'AVAILABLE');
  return available.length === 0 ? null : available[Math.floor(Math.random() * available.length)];
}

// Returns the hold id, or null when there is nothing left to buy or the budget ran out.
async function holdSomeSeat(token, deadline) {
  let passToken = await waitForPass(SCHEDULE_ID, token, deadline);
  for (let attempt = 0; passToken !== null && attempt < PROBES + MAP_ROUNDS; attempt += 1) {
    const seat = attempt < PROBES ? randomSeat() : await availableSeat(token);
    if (seat === null) {
      soldOutSeen.add(1);
      break;
    }
    let hold = await holdOrRecover(SCHEDULE_ID, token, passToken, [seat]);
    if (hold.res.status === 403) {
      requeued.add(1); // the pass expired before this hold: back in line, then the same seat
      passToken = await waitForPass(SCHEDULE_ID, token, deadline);
      if (passToken === null) {
        return null;
      }
      hold = await holdOrRecover(SCHEDULE_ID, token, passToken, [seat]);
    }
    const res = hold.res;
    if (hold.holdId !== null) {
      return hold.holdId;
    }
    if (res.status === 409 && problemCode(res) === 'SEAT_TAKEN') {
      seatTaken.add(1);
      continue;
    }
    if (res.status === 0) {
      continue; // no answer and no hold found: try another seat
    }
    holdFailed.add(1);
    console.error(`hold answered ${res.status} ${res.error || ''}: ${String(res.body).slice(0, 200)}`);
    break;
  }
  // Sold out, or every guess and map pick went to someone faster: give the pass back.
  if (passToken !== null) {
    await leaveQueue(SCHEDULE_ID, token);
  }
  return null;
}

async function buyer(u, startAt) {
  await sleepMs(startAt + Math.random() * RAMP_MS - Date.now());
  const deadline = Date.now() + USER_BUDGET_MS;
  const holdId = await holdSomeSeat(tokens[u], deadline);
  if (holdId !== null && (await payAndConfirm(tokens[u], holdId, startAt, deadline))) {
    bought.add(1);
  }
}

export default async function (data) {
  const mine = usersOfVu(exec.scenario.iterationInTest + 1, VUS, USERS);
  await Promise.all(mine.map((u) => buyer(u, data.startAt)));
}

export async function watch(data) {
  const deadline = data.startAt + USER_BUDGET_MS + RAMP_MS;
  while (Date.now() < deadline) {
    await sleepMs(WATCH_MS);
    const res = await watcherSeats.requestAsync('GET', `/api/v1/schedules/${SCHEDULE_ID}/seats`, null, {});
    const counts = countStates(parseSeatMap(res));
    if ((counts.SOLD || 0) >= SEATS) {
      soldOut.add(1);
      soldOutAt.add(Date.now() - data.startAt);
      check(counts, { 'every seat SOLD': (c) => c.SOLD === SEATS });
      await sleepMs(SOLD_OUT_GRACE_MS);
      exec.test.abort('sold out');
    }
  }
}
