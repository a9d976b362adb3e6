// DOM helpers. Every piece of text from the API goes into the page as a
// Text node (append of a string, textContent): comment text is text, never
// markup. Nothing here parses HTML.

/**
 * Creates an element: h('a', {href: '/u/x', class: 'user'}, 'x').
 * props: class, text, dataset, on<event> handlers, booleans (true sets an
 * empty attribute, false/null leaves it out); anything else an attribute.
 * Children: nodes, or strings (appended as text).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c);
  }
}

/** Removes every child of el. */
export function clear(el) {
  el.replaceChildren();
}

const announcer = () => document.getElementById('announcer');
let lastAnnounce = 0;
let pendingAnnounce = null;

/**
 * Says msg through the polite live region. Announcements closer than a
 * second apart are merged into the last one, so a burst is read once.
 */
export function announce(msg) {
  const region = announcer();
  if (!region) return;
  const say = () => {
    lastAnnounce = Date.now();
    pendingAnnounce = null;
    // A new text node each time: the same words twice are read twice.
    region.replaceChildren(document.createTextNode(msg));
  };
  clearTimeout(pendingAnnounce);
  const wait = 1000 - (Date.now() - lastAnnounce);
  if (wait <= 0) say();
  else pendingAnnounce = setTimeout(say, wait);
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "5 minutes ago", "now". */
export function ago(iso, now = Date.now()) {
  const secs = Math.round((Date.parse(iso) - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(secs) >= size) return rtf.format(Math.trunc(secs / size), unit);
  }
  return 'just now';
}

/**
 * A <time> with the relative age as text and the absolute time in its
 * datetime and title; refreshTimes() keeps the text current.
 */
export function timeEl(iso) {
  const t = h('time', { datetime: iso, title: absolute.format(new Date(iso)) }, ago(iso));
  return t;
}

/** Brings every <time datetime> of the page up to date. */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const t of root.querySelectorAll('time[datetime]')) {
    const s = ago(t.dateTime, now);
    if (t.textContent !== s) t.textContent = s;
  }
}

let timer = null;
/** One shared timer for every time on the page, once a minute. */
export function startClock() {
  if (timer === null) timer = setInterval(() => refreshTimes(), 60_000);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/g;

/**
 * Comment text as nodes: text, and links for http(s) URLs that parse (the
 * href set as a property, rel nofollow ugc noopener). Line breaks are kept
 * by CSS (white-space: pre-wrap).
 */
export function richText(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let raw = m[0].replace(/[.,;:!?)\]]+$/, '');
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    const a = document.createElement('a');
    a.href = url.href;
    a.rel = 'nofollow ugc noopener';
    a.textContent = raw;
    out.push(a);
    last = m.index + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A short form of text for titles and headings. */
export function excerpt(text, max = 120) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/** "1 comment", "2 comments". */
export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** A score with its sign, not only colour: "+3", "0", "−2". */
export function signed(n) {
  if (n > 0) return `+${n}`;
  if (n < 0) return `\u2212${-n}`;
  return '0';
}

/** localStorage that may be refused (private mode, blocked frames). */
export const store = {
  get(k) {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set(k, v) {
    try {
      if (v === null || v === '') localStorage.removeItem(k);
      else localStorage.setItem(k, v);
    } catch {
      // not kept
    }
  },
};
