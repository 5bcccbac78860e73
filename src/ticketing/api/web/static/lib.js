// What every page shares: its strings, the signed-in user's token, calls to the API,
// and the small formatting the pages need. No framework: each page is a module.

const STRINGS = JSON.parse(document.getElementById('strings').textContent);
const TOKEN_KEY = 'ticketing.token';

/** The page's string `key` in its language, with {name} replaced from `vars`. */
export function t(key, vars = {}) {
  let text = STRINGS[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function signIn(accessToken) {
  localStorage.setItem(TOKEN_KEY, accessToken);
}

export function signOut() {
  localStorage.removeItem(TOKEN_KEY);
}

/** The token's claims (sub, role, exp), read without checking: the API checks it. */
export function claims() {
  const raw = token();
  if (!raw) return null;
  try {
    const part = raw.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    const found = JSON.parse(atob(part));
    if (found.exp && found.exp * 1000 < Date.now()) {
      signOut();
      return null;
    }
    return found;
  } catch {
    return null;
  }
}

/** False (and off to the sign-in page, coming back here after) when nobody is signed in. */
export function requireSignIn() {
  if (claims()) return true;
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  return false;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || '';
    this.problem = problem;
  }
}

/** Call the JSON API as the signed-in user; a problem+json answer throws ApiError. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const sent = { Accept: 'application/json', ...headers };
  const bearer = token();
  if (bearer) sent.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  const answer = await fetch(path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  if (answer.status === 204) return null;
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    if (answer.status === 401) signOut();
    throw new ApiError(answer.status, data);
  }
  return data;
}

/** An image the API draws (a ticket's QR code), as a data: address an <img> may show. */
export async function apiImage(path) {
  const answer = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!answer.ok) throw new ApiError(answer.status, await answer.json().catch(() => ({})));
  return `data:image/svg+xml;base64,${btoa(await answer.text())}`;
}

export function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? t('minutes_seconds', { m: Math.floor(s / 60), s: s % 60 }) : t('seconds', { s });
}

export function money(amount) {
  return Number(amount).toLocaleString(document.documentElement.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Calls `tick(secondsLeft)` every second until `until` (a Date), then `done()`. */
export function countdown(until, tick, done) {
  const step = () => {
    const left = (until.getTime() - Date.now()) / 1000;
    if (left <= 0) {
      clearInterval(timer);
      done();
    } else {
      tick(left);
    }
  };
  const timer = setInterval(step, 1000);
  step();
  return () => clearInterval(timer);
}

/** Show dates in the reader's time zone and language. */
export function localTimes(root = document) {
  for (const node of root.querySelectorAll('time[datetime]')) {
    const when = new Date(node.getAttribute('datetime'));
    if (!Number.isNaN(when.getTime())) {
      node.textContent = when.toLocaleString(document.documentElement.lang, { dateStyle: 'medium', timeStyle: 'short' });
    }
  }
}

export function page() {
  return document.body.dataset;
}
