// burst.js: thousands of buyers enter the waiting room within a few seconds, poll at the pace the
// server sets (poll_after_ms), get admitted, and each holds a distinct seat (user i -> seat i).
//
// After the hold a buyer gives its pass back (DELETE /queue): finishing frees the slot for the
// next person in line, so the line keeps moving at the schedule's capacity. The holds stay.
// Expected: every buyer admitted and every hold 201.
//
// Env:
//   BASE_URL, SCHEDULE_ID (required), TOKENS_FILE (required; one bearer token per line, user i = line i)
//   SEAT_COLS     columns of the schedule's rows x cols grid (seat i = row i / cols, column i % cols + 1); required
//   USERS         buyers (default: every token)
//   VUS           VUs sharing the buyers, each running its buyers concurrently (default min(USERS, 200))
//   RAMP_S        buyers enter spread evenly at random over this many seconds (default 3)
//   USER_BUDGET_S a buyer gives up after this long (default 120)
//   MAX_DURATION  default 180s
//
// Run: k6 run --no-usage-report -e SCHEDULE_ID=1 -e TOKENS_FILE=/abs/tokens.txt -e SEAT_COLS=100 loadtest/burst.js

import exec from 'k6/execution';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import {
  SUMMARY_TREND_STATS,
  envInt,
  holdOrRecover,
  holdsRecovered,
  noAnswerRetries,
  leaveQueue,
  loadTokens,
  required,
  seatName,
  sleepMs,
  touch,
  usersOfVu,
  waitForPass,
  gaveUpWaiting,
  requeued,
} from './lib.js';

const SCHEDULE_ID = required('SCHEDULE_ID');
const SEAT_COLS = Number(required('SEAT_COLS'));
const tokens = loadTokens(required('TOKENS_FILE'));
const USERS = envInt('USERS', tokens.length);
const VUS = envInt('VUS', Math.min(USERS, 200));
const RAMP_MS = envInt('RAMP_S', 3) * 1000;
const USER_BUDGET_MS = envInt('USER_BUDGET_S', 120) * 1000;

const held = new Counter('burst_held');
const holdFailed = new Counter('burst_hold_failed');

export const options = {
  scenarios: {
    burst: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: __ENV.MAX_DURATION || '180s' },
  },
  setupTimeout: '30s',
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: {
    burst_held: [`count==${USERS}`],
    burst_hold_failed: ['count==0'],
    gave_up_waiting: ['count==0'],
  },
};

export function setup() {
  if (USERS > tokens.length) {
    throw new Error(`USERS=${USERS} but only ${tokens.length} tokens`);
  }
  touch(held, holdFailed, gaveUpWaiting, requeued, holdsRecovered, noAnswerRetries);
  return { startAt: Date.now() + 500 };
}

async function buyer(u, startAt) {
  await sleepMs(startAt + Math.random() * RAMP_MS - Date.now());
  const token = tokens[u];
  const passToken = await waitForPass(SCHEDULE_ID, token, Date.now() + USER_BUDGET_MS);
  if (passToken === null) {
    return;
  }
  const { res, holdId } = await holdOrRecover(SCHEDULE_ID, token, passToken, [seatName(u, SEAT_COLS)]);
  if (check(res, { 'hold of my own seat taken': () => holdId !== null })) {
    held.add(1);
  } else {
    holdFailed.add(1);
    console.error(`user ${u}: hold answered ${res.status} ${res.error || ''}: ${String(res.body).slice(0, 200)}`);
  }
  await leaveQueue(SCHEDULE_ID, token);
}

export default async function (data) {
  const mine = usersOfVu(exec.scenario.iterationInTest + 1, VUS, USERS);
  await Promise.all(mine.map((u) => buyer(u, data.startAt)));
}
