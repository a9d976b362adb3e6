// A user's page, /u/{user}: their latest comments, newest first, paged by
// the Link: rel="next" of /v1/users/{user}/comments.

import { h, timeEl, richText, signed } from './dom.js';
import { pagedList } from './pager.js';

const PAGE = 20;

export async function userPage(main) {
  let user;
  try {
    user = decodeURIComponent(location.pathname.slice('/u/'.length));
  } catch {
    user = '';
  }
  if (user === '') {
    main.replaceChildren(h('h1', {}, 'No such user'), h('p', {}, h('a', { href: '/' }, 'See the latest topics.')));
    return;
  }
  document.title = `${user} · Parley`;
  const list = h('ul', { class: 'user-comments', id: 'user-comments', 'aria-labelledby': 'user-heading' });
  const status = h('p', { class: 'thread-status' }, 'Loading comments…');
  const more = h('button', { type: 'button', class: 'load-more', id: 'more-comments', hidden: true }, 'More comments');
  const moreError = h('p', { class: 'error', role: 'alert' });
  main.replaceChildren(
    h('h1', { id: 'user-heading' }, 'Comments by ', h('span', { class: 'user-name' }, user)),
    list,
    status,
    h('div', { class: 'more-row' }, more, moreError),
  );
  await pagedList({
    path: `/v1/users/${encodeURIComponent(user)}/comments`,
    query: { limit: PAGE },
    pages: true,
    add: (items) => {
      const added = items.map(userComment);
      list.append(...added);
      return added;
    },
    focus: (item) => item.querySelector('article'),
    status,
    empty: `${user} has no comments.`,
    failed: 'The comments could not be loaded',
    more,
    moreError,
    noun: 'comment',
  });
}

function userComment(c) {
  const where = `/t/${c.topic_id}?parent=${c.comment_id}#c${c.comment_id}`;
  const whereLink = c.comment_id === 0 ? `/t/${c.topic_id}` : where;
  const time = timeEl(c.update_time);
  return h(
    'li',
    {},
    h(
      'article',
      { class: 'user-comment', tabindex: '-1', 'aria-label': `Comment, ${time.textContent}` },
      h('p', { class: 'text' }, richText(c.content)),
      h(
        'p',
        { class: 'meta' },
        `${signed(c.up - c.down)} points · `,
        time,
        ' · ',
        h('a', { href: whereLink }, c.comment_id === 0 ? 'the topic it started' : 'in its thread'),
        ' · ',
        h('a', { href: `/t/${c.topic_id}` }, 'whole topic'),
      ),
    ),
  );
}
