// The header on every page: who is signed in, signing out, the organiser's link.
import { claims, localTimes, signOut, t } from './lib.js';

const who = claims();
if (who) {
  document.getElementById('who').textContent = t('signed_in_as', { user: who.sub });
  document.getElementById('sign-in').hidden = true;
  const out = document.getElementById('sign-out');
  out.hidden = false;
  out.addEventListener('click', () => {
    signOut();
    location.assign('/');
  });
  if (who.role === 'admin') for (const link of document.querySelectorAll('[data-admin-only]')) link.hidden = false;
}
localTimes();
