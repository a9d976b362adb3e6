// The home page: a form to start a topic, then the latest topics (paged
// by Link: rel="next") or the hot ones (?order=hot), each with its root's
// text, author, counts and age.

import { send } from './api.js';
import { h, timeEl, excerpt, plural, signed } from './dom.js';
import { pagedList } from './pager.js';
import { composer } from './composer.js';
import { session } from './session.js';

const PAGE = 20;

export async function homePage(main) {
  const order = new URLSearchParams(location.search).get('order') === 'hot' ? 'hot' : 'latest';
  document.title = order === 'hot' ? 'Hot topics · Parley' : 'Parley';
  const start = composer({
    id: 'new-topic',
    label: 'Start a topic',
    submitText: 'Post topic',
    draftKey: 'parley.draft.new-topic',
    onSubmit: async (text) => {
      const res = await send('POST', '/post_comment', { content: text, user: session.bodyUser() });
      // The topic page reads with this tab's position: the topic is there.
      location.assign(`/t/${res.data.topic_id}`);
    },
  });
  const tab = (value, label) =>
    h('li', {}, h('a', { href: value === 'hot' ? '/?order=hot' : '/', 'aria-current': value === order ? 'page' : null }, label));
  const list = h('ul', { class: 'topics', id: 'topics', 'aria-labelledby': 'topics-heading' });
  const status = h('p', { class: 'thread-status' }, 'Loading topics…');
  const more = h('button', { type: 'button', class: 'load-more', id: 'more-topics', hidden: true }, 'More topics');
  const moreError = h('p', { class: 'error', role: 'alert' });
  main.replaceChildren(
    h('h1', { class: 'visually-hidden' }, 'Parley: topics'),
    h('section', { class: 'start-topic', 'aria-labelledby': 'new-topic-heading' }, h('h2', { id: 'new-topic-heading', class: 'visually-hidden' }, 'Start a topic'), start.form),
    h(
      'section',
      { class: 'topic-list', 'aria-labelledby': 'topics-heading' },
      h('div', { class: 'list-head' }, h('h2', { id: 'topics-heading' }, order === 'hot' ? 'Hot topics' : 'Latest topics'), h('nav', { 'aria-label': 'Topic order' }, h('ul', { class: 'tabs' }, tab('latest', 'Latest'), tab('hot', 'Hot')))),
      list,
      status,
      h('div', { class: 'more-row' }, more, moreError),
    ),
  );

  await pagedList({
    path: '/v1/topics',
    query: { order, limit: PAGE },
    pages: order === 'latest', // hot is a ranking: one page
    add: (items) => {
      const added = items.map(topicItem);
      list.append(...added);
      return added;
    },
    focus: (item) => item.querySelector('a'),
    status,
    empty: 'No topics yet: start the first one.',
    failed: 'The topics could not be loaded',
    more,
    moreError,
    noun: 'topic',
  });
}

function topicItem(t) {
  const replies = t.comment_count - 1;
  return h(
    'li',
    {},
    h(
      'article',
      { class: 'topic-item', 'aria-labelledby': `t-${t.topic_id}` },
      h('h3', { class: 'topic-title', id: `t-${t.topic_id}` }, h('a', { href: `/t/${t.topic_id}` }, t.content === '' ? '[deleted]' : excerpt(t.content, 200))),
      h(
        'p',
        { class: 'meta' },
        'by ',
        h('a', { href: `/u/${encodeURIComponent(t.user)}` }, t.user),
        ' · active ',
        timeEl(t.update_time),
        ' · ',
        h('a', { href: `/t/${t.topic_id}#comments-heading`, class: 'count' }, plural(replies, 'comment')),
        ` · ${signed(t.up - t.down)} points · ${plural(t.view_count, 'view')}`,
      ),
    ),
  );
}
