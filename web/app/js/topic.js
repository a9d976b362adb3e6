// The topic page, /t/{topic_id}: the root as the page's post, its thread
// below; ?parent={comment_id} shows one comment's subtree ("Continue this
// thread"), ?sort= the order of siblings.

import { get } from './api.js';
import { h, excerpt, timeEl, plural } from './dom.js';
import { Thread, SORTS, DEFAULT_SORT } from './thread.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function topicPage(main) {
  const id = decodeURIComponent(location.pathname.slice('/t/'.length)).toLowerCase();
  if (!UUID.test(id)) {
    main.replaceChildren(h('h1', {}, 'Not a topic'), h('p', {}, 'This address names no topic. ', h('a', { href: '/' }, 'See the latest topics.')));
    document.title = 'Not a topic · Parley';
    return;
  }
  const params = new URLSearchParams(location.search);
  const sort = SORTS.some(([v]) => v === params.get('sort')) ? params.get('sort') : DEFAULT_SORT;
  let parentId = null;
  if (/^\d+$/.test(params.get('parent') || '') && Number(params.get('parent')) > 0) parentId = Number(params.get('parent'));
  const withSort = (url) => {
    const u = new URL(url, location.origin);
    // The sort in force when the link is followed.
    const s = new URLSearchParams(location.search).get('sort');
    if (s) u.searchParams.set('sort', s);
    return u.pathname + u.search;
  };
  const postBox = h('div', { class: 'post-box' });
  const thread = new Thread({
    topicId: id,
    parentId,
    sort,
    mode: 'page',
    postBox,
    links: {
      user: (name) => `/u/${encodeURIComponent(name)}`,
      thread: (cid) => withSort(`/t/${id}?parent=${cid}`),
      whole: () => withSort(`/t/${id}`),
    },
    title: (c) => {
      document.title = `${c.deleted ? '[deleted]' : excerpt(c.content, 60)} · Parley`;
    },
  });
  main.replaceChildren(postBox, thread.el);
  if (parentId !== null) {
    // The subtree's topic, for context and the way back.
    get(`/v1/topics/${id}`).then(
      (res) => showContext(postBox, id, res.data),
      () => {},
    );
  }
  await thread.load();
  thread.focusHash();
}

function showContext(box, id, t) {
  document.title = `Thread in “${excerpt(t.content, 50)}” · Parley`;
  box.replaceChildren(
    h(
      'div',
      { class: 'post context' },
      h('p', { class: 'context-label' }, 'A thread in the topic'),
      h('h1', { id: 'post-title' }, h('a', { href: `/t/${id}` }, excerpt(t.content, 120))),
      h('p', { class: 'post-meta' }, 'Started by ', h('a', { href: `/u/${encodeURIComponent(t.user)}` }, t.user), ` · ${plural(t.comment_count - 1, 'comment')} · active `, timeEl(t.update_time)),
    ),
  );
}
