// contention.js: N buyers, each already holding a waiting-room pass, take the SAME seat at the same instant.
//
// Expected: exactly one 201 and N-1 409 SEAT_TAKEN, nothing else; the hold latency is the result.
// The seed system's shape: one VU per buyer, one iteration each: check the pass (which also opens
// the VU's keep-alive connection), wait at a common start barrier, then hold the one seat.
//
// Env:
//   BASE_URL      API root (default http://127.0.0.1:8000)
//   SCHEDULE_ID   the schedule (required)
//   PASSES_FILE   JSON {"0": {"token", "pass"}, ...} prepared by the runner (required)
//   SEAT          the contested seat (default A-1)
//   VUS           buyers (default: every entry of PASSES_FILE)
//   START_AT      common start, epoch ms (default: START_DELAY_MS after setup, once every VU exists)
//   START_DELAY_MS  default 1500 + 2 ms per VU: time for every VU to check its pass first, yet short
//                 enough that the idle keep-alive connections are still open (servers close them after a
//                 few seconds; uvicorn after 5 s)
//   MAX_DURATION  default 60s
//
// Run: k6 run --no-usage-report -e SCHEDULE_ID=1 -e PASSES_FILE=/abs/passes.json loadtest/contention.js

import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import { Endpoint, SUMMARY_TREND_STATS, bearer, envInt, ep, json, problemCode, required, touch } from './lib.js';

const SCHEDULE_ID = required('SCHEDULE_ID');
const SEAT = __ENV.SEAT || 'A-1';
const passes = new SharedArray('passes', () => {
  const doc = JSON.parse(open(required('PASSES_FILE')));
  return Object.keys(doc)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => doc[k]);
});
const VUS = envInt('VUS', passes.length);
if (VUS < 1 || VUS > passes.length) {
  throw new Error(`VUS must be 1..${passes.length} (the passes prepared), got ${VUS}`);
}

const hold = ep.hold;
const passCheck = new Endpoint('pass_check');
const won = new Counter('hold_won');
const seatTaken = new Counter('hold_seat_taken');
const other = new Counter('hold_other');
const passInvalid = new Counter('pass_invalid');
const lateStart = new Counter('late_start'); // VUs that reached the barrier after the start
const startSkew = new Trend('start_skew_ms', true); // how late each hold left after the barrier

export const options = {
  scenarios: {
    contention: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: __ENV.MAX_DURATION || '60s',
    },
  },
  setupTimeout: '30s',
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: {
    hold_won: ['count==1'],
    hold_seat_taken: [`count==${VUS - 1}`],
    hold_other: ['count==0'],
    pass_invalid: ['count==0'],
  },
};

export function setup() {
  touch(won, seatTaken, other, passInvalid, lateStart);
  // setup() runs once every VU is initialised, so this barrier is reachable by all of them.
  const startAt = envInt('START_AT', Date.now() + envInt('START_DELAY_MS', 1500 + 2 * VUS));
  return { startAt };
}

export default function (data) {
  const me = passes[exec.vu.idInTest - 1];
  const path = `/api/v1/schedules/${SCHEDULE_ID}`;
  const checked = passCheck.request('GET', `${path}/queue/pass`, null, bearer(me.token, { 'X-Queue-Pass': me.pass }));
  if (!check(checked, { 'pass is valid': (r) => r.status === 200 })) {
    passInvalid.add(1);
  }

  const wait = data.startAt - Date.now();
  if (wait > 0) {
    sleep(wait / 1000);
  } else {
    lateStart.add(1);
  }
  startSkew.add(Math.max(0, Date.now() - data.startAt));
  const res = hold.request(
    'POST',
    `${path}/holds`,
    JSON.stringify({ seat_nos: [SEAT] }),
    json(bearer(me.token, { 'X-Queue-Pass': me.pass })),
  );
  const taken = res.status === 409 && problemCode(res) === 'SEAT_TAKEN';
  if (res.status === 201) {
    won.add(1);
  } else if (taken) {
    seatTaken.add(1);
  } else {
    other.add(1);
    console.error(`hold answered ${res.status} ${res.error || ''}: ${String(res.body).slice(0, 300)}`);
  }
  check(res, { 'hold answered 201 or 409 SEAT_TAKEN': (r) => r.status === 201 || taken });
}
