// Sign-in: the development login form, or a token handed over by an identity provider
// in the address's fragment (#access_token=...), which never reaches a server log.
import { api, signIn, t } from './lib.js';

const next = new URLSearchParams(location.search).get('next');
const back = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';

const handed = new URLSearchParams(location.hash.slice(1)).get('access_token');
if (handed) {
  signIn(handed);
  location.replace(back);
}

const form = document.getElementById('login');
if (form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    try {
      const answer = await api('/api/v1/dev/login', {
        method: 'POST',
        body: { user_id: fields.get('user'), admin: fields.get('admin') === 'on' },
      });
      signIn(answer.access_token);
      location.assign(back);
    } catch (error) {
      document.getElementById('login-error').textContent = t('error_generic', { detail: error.message });
    }
  });
}
