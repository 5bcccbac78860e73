// pass_ttl.js: half of the admitted users walk away with their pass (no hold, no leave: they just
// stop). Their slots come back only when the passes expire (a short pass_ttl_s, e.g. 5 s), and the
// other half keep buying: by the end every seat must still be sold.
//
// User i: even i walks away after admission; odd i buys seat (i - 1) / 2 (hold, pay, fake provider,
// CONFIRMED), so the schedule has USERS / 2 seats. A buyer whose pass expired before it polled again
// is back in line (counted as `requeued`): the server's poll pace can be longer than a short pass.
//
// Env:
//   BASE_URL, SCHEDULE_ID (required), TOKENS_FILE (required), SEAT_COLS (required)
//   USERS (default: every token), VUS (default min(USERS, 200)), RAMP_S (default 2)
//   USER_BUDGET_S a buyer gives up after this long (default 150)
//   MAX_DURATION  default 200s
//
// Run: k6 run --no-usage-report -e SCHEDULE_ID=1 -e TOKENS_FILE=/abs/tokens.txt -e SEAT_COLS=50 loadtest/pass_ttl.js

import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import {
  SUMMARY_TREND_STATS,
  confirmTimeouts,
  countStates,
  envInt,
  gaveUpWaiting,
  holdOrRecover,
  holdsRecovered,
  loadTokens,
  noAnswerRetries,
  payAndConfirm,
  payFailures,
  requeued,
  required,
  seatMapSync,
  seatName,
  sleepMs,
  touch,
  usersOfVu,
  waitForPass,
} from './lib.js';

const SCHEDULE_ID = required('SCHEDULE_ID');
const SEAT_COLS = Number(required('SEAT_COLS'));
const tokens = loadTokens(required('TOKENS_FILE'));
const USERS = envInt('USERS', tokens.length);
const SEATS = Math.floor(USERS / 2);
const VUS = envInt('VUS', Math.min(USERS, 200));
const RAMP_MS = envInt('RAMP_S', 2) * 1000;
const USER_BUDGET_MS = envInt('USER_BUDGET_S', 150) * 1000;
const SOLD_CHECK_S = 10; // the seat map turns SOLD right after the confirmation commits

const walkedAway = new Counter('walked_away');
const bought = new Counter('bought');
const holdFailed = new Counter('hold_failed');
const soldAtEnd = new Counter('seats_sold_at_end');
const unsoldAtEnd = new Counter('seats_unsold_at_end');

export const options = {
  scenarios: {
    pass_ttl: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: __ENV.MAX_DURATION || '200s' },
  },
  setupTimeout: '30s',
  teardownTimeout: '30s',
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: {
    bought: [`count==${SEATS}`],
    seats_unsold_at_end: ['count==0'],
    hold_failed: ['count==0'],
  },
};

export function setup() {
  if (USERS > tokens.length || USERS % 2 !== 0) {
    throw new Error(`USERS must be even and <= ${tokens.length} tokens, got ${USERS}`);
  }
  touch(walkedAway, bought, holdFailed, soldAtEnd, unsoldAtEnd, requeued, gaveUpWaiting, payFailures, confirmTimeouts);
  touch(holdsRecovered, noAnswerRetries);
  return { startAt: Date.now() + 500 };
}

async function walker(token, deadline) {
  if ((await waitForPass(SCHEDULE_ID, token, deadline)) !== null) {
    walkedAway.add(1); // keeps the pass until it expires: no hold, no leave
  }
}

async function buyer(token, seat, startAt, deadline) {
  while (Date.now() < deadline) {
    const passToken = await waitForPass(SCHEDULE_ID, token, deadline);
    if (passToken === null) {
      return;
    }
    const { res, holdId } = await holdOrRecover(SCHEDULE_ID, token, passToken, [seat]);
    if (res.status === 403) {
      requeued.add(1); // the pass expired between the status poll and the hold: queue again
      continue;
    }
    if (!check(res, { 'hold of my own seat taken': () => holdId !== null })) {
      holdFailed.add(1);
      console.error(`seat ${seat}: hold answered ${res.status} ${res.error || ''}: ${String(res.body).slice(0, 200)}`);
      return;
    }
    if (await payAndConfirm(token, holdId, startAt, deadline)) {
      bought.add(1);
    }
    return;
  }
}

async function user(u, startAt) {
  await sleepMs(startAt + Math.random() * RAMP_MS - Date.now());
  const deadline = Date.now() + USER_BUDGET_MS;
  if (u % 2 === 0) {
    await walker(tokens[u], deadline);
  } else {
    await buyer(tokens[u], seatName((u - 1) / 2, SEAT_COLS), startAt, deadline);
  }
}

export default async function (data) {
  const mine = usersOfVu(exec.scenario.iterationInTest + 1, VUS, USERS);
  await Promise.all(mine.map((u) => user(u, data.startAt)));
}

export function teardown() {
  let counts = {};
  for (let i = 0; i < SOLD_CHECK_S * 2; i += 1) {
    counts = countStates(seatMapSync(SCHEDULE_ID));
    if ((counts.SOLD || 0) >= SEATS) {
      break;
    }
    sleep(0.5);
  }
  soldAtEnd.add(counts.SOLD || 0);
  unsoldAtEnd.add(SEATS - (counts.SOLD || 0));
}
