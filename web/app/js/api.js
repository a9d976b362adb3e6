// The API client of the page: JSON in and out, every error as an ApiError
// carrying the server's {"error": "..."} message, writes made safe to retry
// with one Idempotency-Key per logical write, and read-your-writes through
// min_position (SPEC §4): the highest log position this tab wrote is sent
// with the reads after it, so a reader shows the tab its own writes.

const POSITION_KEY = 'parley.position';

/** An answer that was not a success: status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

let position = 0;
try {
  // sessionStorage: a reload of this tab still sees what it wrote.
  position = Number(sessionStorage.getItem(POSITION_KEY)) || 0;
} catch {
  // Storage refused (a third-party frame with storage blocked): memory only.
}

/** The highest log position this tab has written, 0 for none. */
export function lastPosition() {
  return position;
}

/** Remembers a write's position for the reads that follow it. */
export function notePosition(p) {
  const n = Number(p);
  if (!Number.isSafeInteger(n) || n <= position) return;
  position = n;
  try {
    sessionStorage.setItem(POSITION_KEY, String(n));
  } catch {
    // memory only
  }
}

let bearer = null;

/** Sets the token sent with every write (AUTH_MODE=jwt), or null. */
export function setBearer(token) {
  bearer = token || null;
}

/**
 * GET path (which may carry a query) with params added; answers
 * {status, data, etag, next, position}. 304 (with etag given) answers
 * data null. withPosition false leaves min_position out; auth sends the
 * token (the "own" reads of SPEC §8).
 */
export async function get(path, params = {}, { etag, withPosition = true, signal, auth = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  if (withPosition && position > 0 && !url.searchParams.has('min_position')) {
    url.searchParams.set('min_position', String(position));
  }
  const headers = { Accept: 'application/json' };
  if (etag) headers['If-None-Match'] = etag;
  // Only the "own" reads (a user's votes) need who asks.
  if (auth && bearer) headers.Authorization = `Bearer ${bearer}`;
  let res;
  for (let attempt = 0; ; attempt++) {
    res = await fetch(url.pathname + url.search, { headers, signal, cache: 'no-cache' });
    // A reader still loading, or not yet at min_position: another try soon
    // (nginx has already tried the other readers).
    if (res.status !== 503 || attempt >= 2) break;
    await sleep(300 * (attempt + 1));
  }
  const out = {
    status: res.status,
    data: null,
    etag: res.headers.get('ETag'),
    next: nextLink(res.headers.get('Link')),
    position: Number(res.headers.get('X-Log-Position')) || 0,
  };
  if (res.status === 304) return out;
  if (!res.ok) throw await errorOf(res);
  out.data = await res.json();
  return out;
}

/**
 * Sends a write (POST, PUT, PATCH, DELETE) with a JSON body; answers
 * {status, data, etag}. A connection error or a 502/503/504 is tried again
 * under the same Idempotency-Key, so the server applies it once.
 */
export async function send(method, path, body, { ifMatch } = {}) {
  const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': uuid() };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (ifMatch) headers['If-Match'] = ifMatch;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(path, init);
    } catch (err) {
      if (attempt >= 2) throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
      await sleep(500 * (attempt + 1));
      continue;
    }
    if (![502, 503, 504].includes(res.status) || attempt >= 2) break;
    await sleep(500 * (attempt + 1));
  }
  if (!res.ok) throw await errorOf(res);
  const pos = res.headers.get('X-Log-Position');
  const data = res.status === 204 ? null : await res.json();
  notePosition(data && data.position !== undefined ? data.position : pos);
  return { status: res.status, data, etag: res.headers.get('ETag') };
}

async function errorOf(res) {
  let message = `The server answered ${res.status}.`;
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string' && body.error) message = body.error;
  } catch {
    // not JSON: keep the status
  }
  if (res.status === 401) message = `Sign in again: ${message}`;
  return new ApiError(res.status, message);
}

/** The URL of rel="next" in a Link header, or null. */
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/.test(m[2])) return m[1];
  }
  return null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A random UUID; crypto.randomUUID exists only in secure contexts. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
