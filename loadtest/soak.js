// soak.js: a steady sale for a long while: RATE new buyers a second (k6's constant-arrival-rate),
// each with a seat of their own, the whole journey to CONFIRMED: queue, pass, hold, payment,
// the fake provider's PAID webhook, GET /me/reservations until CONFIRMED. Nobody fights over a
// seat; what it shows is whether the service stays the same over time (memory, latency,
// tables) while the sale goes on, which `bench/soak.py` samples beside it.
//
// Env:
//   BASE_URL, SCHEDULE_ID, TOKENS_FILE (required; one token per buyer: RATE x DURATION_S of them)
//   SEAT_COLS      the schedule's grid columns (required); buyer i takes seat i
//   RATE           buyers starting per second (default 10)
//   DURATION_S     how long buyers keep arriving (default 600)
//   MAX_VUS        concurrent buyers at most (default 400)
//   USER_BUDGET_S  a buyer gives up after this long (default 120)
//
// Run: k6 run --no-usage-report -e SCHEDULE_ID=1 -e TOKENS_FILE=/abs/t.txt -e SEAT_COLS=50 loadtest/soak.js

import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  SUMMARY_TREND_STATS,
  confirmTimeouts,
  envInt,
  gaveUpWaiting,
  holdOrRecover,
  loadTokens,
  payAndConfirm,
  payFailures,
  requeued,
  required,
  seatName,
  touch,
  waitForPass,
} from './lib.js';

const SCHEDULE_ID = required('SCHEDULE_ID');
const SEAT_COLS = Number(required('SEAT_COLS'));
const tokens = loadTokens(required('TOKENS_FILE'));
const RATE = envInt('RATE', 10);
const DURATION_S = envInt('DURATION_S', 600);
const USER_BUDGET_MS = envInt('USER_BUDGET_S', 120) * 1000;

const bought = new Counter('bought');
const holdFailed = new Counter('hold_failed');

export const options = {
  scenarios: {
    buyers: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.min(envInt('MAX_VUS', 400), RATE * 10),
      maxVUs: envInt('MAX_VUS', 400),
      gracefulStop: `${Math.ceil(USER_BUDGET_MS / 1000)}s`,
    },
  },
  setupTimeout: '30s',
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: {
    hold_failed: ['count==0'],
    pay_failures: ['count==0'],
    confirm_timeouts: ['count==0'],
  },
};

export function setup() {
  if (RATE * DURATION_S > tokens.length) {
    throw new Error(`RATE x DURATION_S = ${RATE * DURATION_S} buyers but only ${tokens.length} tokens`);
  }
  touch(bought, holdFailed, requeued, gaveUpWaiting, payFailures, confirmTimeouts);
  return { startAt: Date.now() };
}

export default async function (data) {
  const u = exec.scenario.iterationInTest;
  const token = tokens[u];
  const deadline = Date.now() + USER_BUDGET_MS;
  let passToken = await waitForPass(SCHEDULE_ID, token, deadline);
  if (passToken === null) {
    return;
  }
  const seat = seatName(u, SEAT_COLS);
  let hold = await holdOrRecover(SCHEDULE_ID, token, passToken, [seat]);
  if (hold.res.status === 403) {
    requeued.add(1); // the pass expired before the hold: back in line
    passToken = await waitForPass(SCHEDULE_ID, token, deadline);
    if (passToken === null) {
      return;
    }
    hold = await holdOrRecover(SCHEDULE_ID, token, passToken, [seat]);
  }
  if (hold.holdId === null) {
    holdFailed.add(1);
    console.error(`hold of ${seat} answered ${hold.res.status}: ${String(hold.res.body).slice(0, 200)}`);
    return;
  }
  if (await payAndConfirm(token, hold.holdId, data.startAt, deadline)) {
    bought.add(1);
  }
}
