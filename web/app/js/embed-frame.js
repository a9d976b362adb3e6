// The framed page, /embed?key=…: the thread of a site's own key, inside
// the host page's iframe (web/app/embed.js puts it there). It talks to the
// host page only through postMessage:
//
//   frame → parent  {type: "parley:ready"}            once it can take a token (to "*": it holds nothing)
//   parent → frame  {type: "parley:hello"}            the answer; its origin becomes the only one posted to
//   parent → frame  {type: "parley:token", token}     AUTH_MODE=jwt: the host site's token for its user, or null
//   frame → parent  {type: "parley:height", height}   the document's height, on every change
//
// Messages are taken only from window.parent; the token never travels in
// a URL (logs, Referer).

import { startSession, renderSignIn, session } from './session.js';
import { startClock, h } from './dom.js';
import { Thread } from './thread.js';

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const key = params.get('key') || '';

await startSession({ embedded: true });
startClock();

let parentOrigin = null;
const framed = window.parent !== window;

function postHeight() {
  if (!framed || parentOrigin === null) return;
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  window.parent.postMessage({ type: 'parley:height', height }, parentOrigin);
}

window.addEventListener('message', (ev) => {
  if (!framed || ev.source !== window.parent) return;
  const d = ev.data;
  if (!d || typeof d !== 'object') return;
  if (d.type === 'parley:hello' && parentOrigin === null) {
    parentOrigin = ev.origin;
    postHeight();
    return;
  }
  if (ev.origin !== parentOrigin) return;
  if (d.type === 'parley:token') {
    if (typeof d.token === 'string' && d.token !== '') {
      const problem = session.setToken(d.token);
      if (problem) console.warn(`parley: the host page's token was refused: ${problem}`);
    } else {
      session.setToken(null);
    }
  }
});

if (key === '' || key.length > 512) {
  main.replaceChildren(h('p', { class: 'error' }, 'This embed names no thread: give data-parley-key.'));
} else {
  let parentId = null;
  if (/^\d+$/.test(params.get('parent') || '') && Number(params.get('parent')) > 0) parentId = Number(params.get('parent'));
  const here = (extra) => `/embed?${new URLSearchParams({ key, ...extra })}`;
  const thread = new Thread({
    topicId: null,
    topicKey: key,
    parentId,
    mode: 'embed',
    newTab: true,
    links: {
      user: (name) => `/u/${encodeURIComponent(name)}`,
      thread: (cid) => here({ parent: String(cid) }),
      whole: () => here({}),
    },
  });
  const signin = h('div', { class: 'signin embed-signin', id: 'signin' });
  main.replaceChildren(h('h1', { class: 'visually-hidden' }, 'Comments'), signin, thread.el);
  renderSignIn(signin);
  thread.load().catch(() => {});
}

if (framed) {
  new ResizeObserver(postHeight).observe(document.documentElement);
  window.parent.postMessage({ type: 'parley:ready' }, '*');
}
document.documentElement.dataset.ready = 'true';
