// The live sale: the schedule's numbers every two seconds, a chart of the last minutes,
// and the queue controls, which act at the advancer's next tick.
import { api, claims, page, requireSignIn, sleep, t } from './lib.js';

const schedule = page().schedule;
const state = document.getElementById('dash-state');
const error = document.getElementById('dash-error');
const pause = document.getElementById('pause');
const steer = document.getElementById('steer');
const chart = document.getElementById('chart');
const WINDOW_S = 300;
const samples = []; // {at, waiting, sold, held, confirmed}
let current = null;

function put(name, value) {
  const node = document.querySelector(`[data-stat="${name}"]`);
  if (node) node.textContent = value;
}

function line(points, max, colour) {
  if (points.length < 2) return '';
  const first = points[0].at;
  const span = Math.max(points[points.length - 1].at - first, 60_000); // a minute at least, five at most
  const path = points
    .map((p, i) => `${i ? 'L' : 'M'}${((600 * (p.at - first)) / span).toFixed(1)},${(155 - (150 * p.value) / max).toFixed(1)}`)
    .join(' ');
  return `<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`;
}

function draw() {
  const max = Math.max(1, ...samples.map((s) => Math.max(s.waiting, s.sold, s.held)));
  chart.innerHTML = [
    line(samples.map((s) => ({ at: s.at, value: s.waiting })), max, '#0b5cad'),
    line(samples.map((s) => ({ at: s.at, value: s.sold })), max, '#1f7a3a'),
    line(samples.map((s) => ({ at: s.at, value: s.held })), max, '#a15c00'),
  ].join('');
}

function show(stats) {
  const now = Date.now();
  const previous = samples[samples.length - 1];
  samples.push({ at: now, waiting: stats.waiting, sold: stats.seats.sold, held: stats.seats.held, confirmed: stats.confirmed_seats });
  while (samples.length && samples[0].at < now - WINDOW_S * 1000) samples.shift();
  put('waiting', stats.waiting);
  put('admitted', stats.admitted);
  put('live_passes', `${stats.live_passes} / ${stats.capacity}`);
  put('admission_per_s', stats.admission_per_s.toFixed(1));
  put('available', stats.seats.available);
  put('held', stats.seats.held);
  put('sold', stats.seats.sold);
  put('guard_conflicts', stats.guard_conflicts);
  put('refunds', t('dash_refunds_value', { done: stats.refunds_done, pending: stats.guard_conflicts - stats.refunds_done }));
  if (previous) put('confirm_per_s', (((stats.confirmed_seats - previous.confirmed) * 1000) / (now - previous.at)).toFixed(1));
  state.textContent = stats.closed ? t('dash_closed') : stats.paused ? t('dash_paused') : t('dash_running');
  pause.textContent = stats.paused ? t('dash_resume') : t('dash_pause');
  pause.disabled = stats.closed;
  if (!current) {
    steer.capacity.value = stats.capacity;
    steer.admit_per_tick.value = stats.admit_per_tick;
  }
  current = stats;
  draw();
}

async function control(body) {
  error.textContent = '';
  try {
    show(await api(`/api/v1/admin/schedules/${schedule}/queue`, { method: 'PATCH', body }));
    return true;
  } catch (failure) {
    error.textContent = t('error_generic', { detail: failure.message });
    return false;
  }
}

async function run() {
  if (!requireSignIn()) return;
  if (claims().role !== 'admin') {
    error.textContent = t('admin_need_admin');
    return;
  }
  pause.addEventListener('click', () => control({ paused: !current.paused }));
  steer.addEventListener('submit', async (event) => {
    event.preventDefault();
    const capacity = Number(steer.capacity.value);
    const rate = Number(steer.admit_per_tick.value);
    if (await control({ capacity, admit_per_tick: rate })) state.textContent = t('dash_saved', { capacity, rate });
  });
  document.getElementById('close-sale').addEventListener('click', async () => {
    if (!window.confirm(t('dash_close_confirm'))) return;
    try {
      show(await api(`/api/v1/admin/schedules/${schedule}/close`, { method: 'POST' }));
    } catch (failure) {
      error.textContent = t('error_generic', { detail: failure.message });
    }
  });
  for (;;) {
    try {
      show(await api(`/api/v1/admin/schedules/${schedule}/dashboard`));
    } catch (failure) {
      error.textContent = t('error_generic', { detail: failure.message });
    }
    await sleep(2000);
  }
}

run();
