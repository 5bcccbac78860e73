// The organiser's page: create an event, then a performance with a seat grid and its
// waiting room. Every call is the admin API's, with the organiser's token.
import { api, claims, requireSignIn, t } from './lib.js';

const error = document.getElementById('admin-error');

function localToIso(value) {
  return new Date(value).toISOString(); // the organiser types local time; the API takes UTC
}

async function run() {
  if (!requireSignIn()) return;
  if (claims().role !== 'admin') {
    error.textContent = t('admin_need_admin');
    for (const form of document.querySelectorAll('form')) form.hidden = true;
    return;
  }
  document.getElementById('event-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const fields = new FormData(event.target);
    try {
      const created = await api('/api/v1/admin/events', {
        method: 'POST',
        body: { title: fields.get('title'), description: fields.get('description') || '' },
      });
      location.assign(`/admin?created=${created.id}`);
    } catch (failure) {
      error.textContent = t('error_generic', { detail: failure.message });
    }
  });
  document.getElementById('schedule-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = new FormData(event.target);
    const number = (name) => Number(f.get(name));
    try {
      const created = await api(`/api/v1/admin/events/${f.get('event_id')}/schedules`, {
        method: 'POST',
        body: {
          starts_at: localToIso(f.get('starts_at')),
          sale_opens_at: localToIso(f.get('sale_opens_at')),
          hold_ttl_s: number('hold_ttl_s'),
          max_seats_per_user: number('max_seats_per_user'),
          queue: { capacity: number('capacity'), pass_ttl_s: number('pass_ttl_s'), admit_per_tick: number('admit_per_tick') },
          seats: { rows: number('rows'), cols: number('cols'), price: f.get('price') },
        },
      });
      location.assign(`/admin/schedules/${created.id}`);
    } catch (failure) {
      const detail = failure.problem?.errors?.map((e) => `${e.loc?.slice(-1)}: ${e.msg}`).join('; ') || failure.message;
      error.textContent = t('error_generic', { detail });
    }
  });
}

run();
