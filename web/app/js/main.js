// The page's entry point: one HTML shell (index.html) for /, /t/… and /u/…;
// this module reads the path and draws the page it names.

import { startSession, renderSignIn } from './session.js';
import { startClock, h } from './dom.js';
import { homePage } from './home.js';
import { topicPage } from './topic.js';
import { userPage } from './user.js';

const main = document.getElementById('main');

async function route() {
  const path = location.pathname;
  if (path === '/') return homePage(main);
  if (path.startsWith('/t/')) return topicPage(main);
  if (path.startsWith('/u/')) return userPage(main);
  document.title = 'Not found · Parley';
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '/' }, 'See the latest topics.')));
}

await startSession();
renderSignIn(document.getElementById('signin'));
for (const a of document.querySelectorAll('.site-nav a')) {
  if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
}
startClock();
try {
  await route();
} catch {
  // The page has already said what failed where it failed.
}
document.documentElement.dataset.ready = 'true';
