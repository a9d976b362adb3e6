// A topic's thread: the comment tree as nested lists, one <article> per
// comment, with votes, replies, edits and deletes where allowed, sorting,
// paging, folding and live updates. The topic page and the embed both use
// it (docs/web.md).
//
// The tree comes from GET /v1/topics/{id}/comments in pages (limit, and the
// Link: rel="next" the reader sends while more remain), in tree pre-order,
// cut at MAX_LEVEL levels (depth=): a comment on the last level whose
// reply_count says it has replies links on to the subtree view ("Continue
// this thread"), as Reddit does. Because a page is a stretch of pre-order,
// every comment of the next page belongs after what is shown: appending
// each under its parent extends the page at its end.

import { get, send, ApiError } from './api.js';
import { h, clear, announce, timeEl, richText, signed, plural, excerpt } from './dom.js';
import { composer } from './composer.js';
import { session } from './session.js';

/** Indentation levels shown before "Continue this thread". */
export const MAX_LEVEL = 6;
/** Comments per page. */
export const PAGE_SIZE = 200;
/** Replies of a reply shown before "n more replies". */
const FOLD_AFTER = 3;
/** New comments fetched one by one for the banner; beyond, reload. */
const LIVE_FETCH_MAX = 20;
const POLL_VISIBLE = 5000;
const POLL_HIDDEN = 30000;
const POLL_MAX = 60000;

export const SORTS = [
  ['best', 'Best'],
  ['top', 'Top'],
  ['new', 'New'],
  ['old', 'Old'],
  ['controversial', 'Controversial'],
];
export const DEFAULT_SORT = 'best';

function pathDepth(p) {
  let n = 0;
  for (const ch of p) if (ch === '/') n++;
  return n;
}

/** A node of the shown tree: the comment and its elements. */
class Node {
  constructor(c, level) {
    this.c = c;
    this.level = level;
    this.li = null;
    this.article = null;
    this.replies = null; // <ul>, made on the first reply
    this.shown = 0; // replies shown
    this.folded = []; // replies hidden behind the fold button
    this.foldButton = null;
    this.continueLink = null;
    this.slot = null; // where a form or an error goes
    this.busy = false; // a vote in flight
  }
}

export class Thread {
  /**
   * opts: topicId (null in an embed whose key has no comment yet),
   * topicKey (embed), parentId (the subtree view's root, or null), sort,
   * mode: 'page' (the root is the topic's post, shown above the thread) or
   * 'embed' (the root is the first comment, its replies beside it),
   * links: {user(name), thread(parentId), whole()} the URLs to use,
   * onTopic(topicId) (an embed's first comment started the topic),
   * postBox (where mode 'page' shows the root), title(c) sets the document
   * title from the root.
   */
  constructor(opts) {
    this.o = opts;
    this.topicId = opts.topicId;
    this.sort = opts.sort || DEFAULT_SORT;
    this.nodes = new Map();
    this.next = null;
    this.count = null; // comments in the topic (the root included), from /topic_counts
    this.countETag = null;
    this.known = 0; // ids below this were there at load, or seen since
    this.own = new Set(); // ids this tab posted
    this.pending = []; // others' new comments behind the banner
    this.myVotes = new Map();
    this.pollTimer = null;
    this.pollDelay = POLL_VISIBLE;
    this.generation = 0; // bumped on reload: answers for an older one are dropped
    this.openForm = null; // {close()} of the open reply form
    this.build();
  }

  get subtree() {
    return this.o.parentId !== null && this.o.parentId !== undefined;
  }

  /** The elements around the list: heading, sort, top form, banner. */
  build() {
    const o = this.o;
    this.heading = h('h2', { id: 'comments-heading', tabindex: '-1' }, 'Comments');
    const select = h('select', { id: 'sort', name: 'sort' });
    for (const [value, label] of SORTS) {
      select.append(h('option', { value, selected: value === this.sort }, label));
    }
    select.addEventListener('change', () => this.setSort(select.value));
    this.select = select;
    const controls = h('div', { class: 'thread-controls' }, this.heading, h('div', { class: 'sort' }, h('label', { for: 'sort' }, 'Sort by'), select));

    this.top = null;
    if (!this.subtree) {
      const key = `parley.draft.${this.topicId || o.topicKey}.top`;
      this.top = composer({
        id: 'new-comment',
        label: 'Add a comment',
        submitText: 'Post comment',
        draftKey: key,
        onSubmit: (text) => this.postTop(text),
      });
    }
    this.banner = h('button', { type: 'button', class: 'new-banner', id: 'new-comments', hidden: true });
    this.banner.addEventListener('click', () => this.showPending());
    this.list = h('ul', { class: 'comments', id: 'comments', 'aria-labelledby': 'comments-heading' });
    this.status = h('p', { class: 'thread-status', id: 'thread-status' });
    this.more = h('button', { type: 'button', class: 'load-more', id: 'load-more', hidden: true }, 'Load more comments');
    this.more.addEventListener('click', () => this.loadMore());
    this.moreError = h('p', { class: 'error', role: 'alert' });

    this.el = h(
      'section',
      { class: 'thread', 'aria-labelledby': 'comments-heading' },
      controls,
      this.subtree ? this.subtreeNav() : null,
      this.top ? this.top.form : null,
      h('div', { class: 'banner-row' }, this.banner),
      this.list,
      this.status,
      h('div', { class: 'more-row' }, this.more, this.moreError),
    );
    this.list.addEventListener('click', (ev) => this.onClick(ev));
    session.onChange(() => this.redrawActions());
  }

  subtreeNav() {
    return h(
      'p',
      { class: 'subtree-nav' },
      h('a', { href: this.o.links.whole(), id: 'whole-thread' }, '← Back to the whole thread'),
    );
  }

  /** Loads the first page (again, after a sort change). */
  async load({ focus = false } = {}) {
    const gen = ++this.generation;
    this.stopPolling();
    this.nodes.clear();
    this.pending = [];
    this.next = null;
    this.updateBanner();
    clear(this.list);
    this.more.hidden = true;
    this.moreError.textContent = '';
    this.el.setAttribute('aria-busy', 'true');
    this.status.textContent = 'Loading comments…';
    try {
      await this.refreshCount();
      if (gen !== this.generation) return;
      this.known = this.count || 0;
      if (this.o.mode === 'page' && this.count === 0) throw new ApiError(404, 'no such topic');
      if (this.topicId && this.count > 0) {
        const [page] = await Promise.all([
          get(`/v1/topics/${this.topicId}/comments`, {
            parent_id: this.subtree ? this.o.parentId : undefined,
            sort: this.sort,
            depth: this.subtree ? MAX_LEVEL - 1 : MAX_LEVEL,
            limit: PAGE_SIZE,
          }),
          this.loadVotes(),
        ]);
        if (gen !== this.generation) return;
        this.addPage(page.data);
        this.next = page.next;
      }
      this.status.textContent = this.nodes.size === 0 || (this.o.mode === 'page' && !this.subtree && this.nodes.size === 1) ? this.emptyText() : '';
    } catch (err) {
      if (gen !== this.generation) return;
      this.status.textContent = err instanceof ApiError && err.status === 404 ? this.goneText() : `The comments could not be loaded: ${err.message}`;
      this.el.removeAttribute('aria-busy');
      throw err;
    }
    this.el.removeAttribute('aria-busy');
    this.updateHeading();
    this.updateMore();
    this.startPolling();
    if (focus) this.heading.focus();
  }

  emptyText() {
    return this.o.mode === 'embed' ? 'No comments yet. Be the first to comment.' : 'No comments yet.';
  }

  goneText() {
    return this.subtree ? 'This comment does not exist.' : 'This topic does not exist.';
  }

  /** Fetches the topic's comment count (and, by key, its id). */
  async refreshCount() {
    const params = this.topicId ? { topic_id: this.topicId } : { topic_key: this.o.topicKey };
    const res = await get('/topic_counts', params, { etag: this.countETag });
    if (res.status === 304 || !res.data) return false;
    this.countETag = res.etag;
    const item = res.data[0];
    const before = this.count;
    this.count = item.comment_count;
    if (!this.topicId && item.comment_count > 0) {
      this.topicId = item.topic_id;
      if (this.o.onTopic) this.o.onTopic(this.topicId);
    }
    return before !== null && this.count !== before;
  }

  /** The signed-in person's votes (the latest 100), for aria-pressed. */
  async loadVotes() {
    this.myVotes.clear();
    const voter = session.voter();
    if (!voter) return;
    try {
      const res = await get('/user_votes', { user: session.mode === 'none' ? voter : undefined, limit: 100 }, { auth: true });
      for (const v of res.data || []) {
        if (v.topic_id === this.topicId) this.myVotes.set(v.comment_id, v.vote);
      }
    } catch {
      // Without them the arrows start unpressed; a vote still sets the
      // end state, so nothing counts twice.
    }
  }

  async loadMore() {
    if (!this.next || this.more.disabled) return;
    const gen = this.generation;
    this.more.disabled = true;
    this.more.setAttribute('aria-busy', 'true');
    this.moreError.textContent = '';
    try {
      const page = await get(this.next);
      if (gen !== this.generation) return;
      const added = this.addPage(page.data);
      this.next = page.next;
      this.updateMore();
      this.focusLoaded(added);
      announce(`${plural(added.length, 'more comment')} loaded.`);
    } catch (err) {
      this.moreError.textContent = `More comments could not be loaded: ${err.message}`;
    } finally {
      this.more.disabled = false;
      this.more.removeAttribute('aria-busy');
    }
  }

  /**
   * Moves the focus to the first comment a page added that can be seen; when
   * all of them wait behind a fold ("n more replies"), to the fold's button
   * nearest the first, or to the nearest comment above it that shows.
   */
  focusLoaded(added) {
    const first = added.find((n) => n.li.isConnected && n.article.checkVisibility());
    if (first) {
      first.article.focus();
      return;
    }
    for (let n = added[0]; n; n = this.nodes.get(n.c.parent_id)) {
      const parent = this.nodes.get(n.c.parent_id);
      if (parent?.foldButton?.checkVisibility()) {
        parent.foldButton.focus();
        return;
      }
      if (parent?.article.checkVisibility()) {
        parent.article.focus();
        return;
      }
      if (!parent || parent === n) return;
    }
  }

  updateMore() {
    this.more.hidden = !this.next;
    if (this.next && this.count !== null) {
      const shown = [...this.nodes.values()].filter((n) => n.level > 0).length;
      const base = this.o.mode === 'page' && !this.subtree ? 1 : 0;
      const left = this.count - base - shown;
      this.more.textContent = left > 0 && !this.subtree ? `Load more comments (${left.toLocaleString('en')} not shown)` : 'Load more comments';
    }
  }

  updateHeading() {
    if (this.count === null) return;
    const n = this.o.mode === 'page' ? Math.max(0, this.count - 1) : this.count;
    this.heading.textContent = `Comments (${n.toLocaleString('en')})`;
  }

  /** The level a comment is shown at: 1 for a top-level comment. */
  levelOf(c) {
    const d = pathDepth(c.parent_path);
    if (this.subtree) {
      const root = this.nodes.get(this.o.parentId);
      const base = root ? pathDepth(root.c.parent_path) : d;
      return d - base + 1;
    }
    return this.o.mode === 'embed' ? Math.max(1, d) : d;
  }

  /** Adds a page of comments in pre-order; answers the new nodes. */
  addPage(items) {
    const added = [];
    for (const c of items) {
      if (this.nodes.has(c.comment_id)) continue;
      const n = this.place(c, 'end');
      if (n) added.push(n);
    }
    for (const n of added) this.updateContinue(n);
    return added;
  }

  /**
   * Puts a comment in the tree, under its parent (at 'end' or 'start' of
   * its replies); answers its node, or null when it has no place shown.
   */
  place(c, where) {
    if (this.o.mode === 'page' && !this.subtree && c.comment_id === 0) {
      const n = new Node(c, 0);
      this.nodes.set(0, n);
      this.renderPost(n);
      return null;
    }
    const level = this.levelOf(c);
    const n = new Node(c, level);
    const parent = c.comment_id === 0 ? null : this.nodes.get(c.parent_id);
    let container;
    let foldable = false;
    if (this.subtree && c.comment_id === this.o.parentId) {
      container = this.list;
    } else if (!parent) {
      if (this.subtree) return null; // outside the subtree
      if (this.o.mode === 'page' && c.parent_id !== 0) return null; // its parent is not shown
      container = this.list;
    } else if (parent.level === 0 || (this.o.mode === 'embed' && parent.c.comment_id === 0)) {
      container = this.list;
    } else {
      if (parent.level >= MAX_LEVEL) return null; // deeper than shown
      container = this.repliesOf(parent);
      foldable = true;
    }
    this.nodes.set(c.comment_id, n);
    this.renderComment(n);
    if (where === 'start') container.prepend(n.li);
    else container.append(n.li);
    if (foldable) {
      if (where === 'end' && parent.shown >= FOLD_AFTER) {
        n.li.hidden = true;
        parent.folded.push(n);
        this.updateFold(parent);
      } else {
        parent.shown++;
      }
    }
    return n;
  }

  repliesOf(parent) {
    if (!parent.replies) {
      parent.replies = h('ul', { class: 'replies', 'aria-label': `Replies to ${parent.c.deleted ? 'a deleted comment' : parent.c.user}` });
      parent.li.insertBefore(parent.replies, parent.li.querySelector(':scope > .after-replies'));
    }
    return parent.replies;
  }

  /** The "n more replies" button of a node with folded replies. */
  updateFold(n) {
    if (n.folded.length === 0) {
      if (n.foldButton) n.foldButton.remove();
      n.foldButton = null;
      return;
    }
    if (!n.foldButton) {
      n.foldButton = h('button', { type: 'button', class: 'more-replies', dataset: { action: 'unfold', id: n.c.comment_id } });
      n.li.querySelector(':scope > .after-replies').prepend(n.foldButton);
    }
    const who = n.c.deleted ? 'a deleted comment' : n.c.user;
    n.foldButton.textContent = plural(n.folded.length, 'more reply', 'more replies');
    n.foldButton.setAttribute('aria-label', `${plural(n.folded.length, 'more reply', 'more replies')} to ${who}`);
  }

  unfold(n) {
    const shown = n.folded;
    n.folded = [];
    for (const child of shown) {
      child.li.hidden = false;
      n.shown++;
    }
    this.updateFold(n);
    if (shown.length) shown[0].article.focus();
  }

  /** "Continue this thread" on a last-level comment with replies. */
  updateContinue(n) {
    const want = n.level >= MAX_LEVEL && n.c.reply_count > 0;
    if (!want) {
      if (n.continueLink) n.continueLink.remove();
      n.continueLink = null;
      return;
    }
    if (!n.continueLink) {
      n.continueLink = h('a', { class: 'continue', href: this.o.links.thread(n.c.comment_id) });
      n.li.querySelector(':scope > .after-replies').append(n.continueLink);
    }
    n.continueLink.textContent = `Continue this thread (${plural(n.c.reply_count, 'reply', 'replies')}) →`;
  }

  // ---- rendering ------------------------------------------------------

  renderComment(n) {
    const id = n.c.comment_id;
    n.article = h('article', { class: 'comment-card', tabindex: '-1', 'aria-labelledby': `c${id}-author` });
    n.li = h('li', { class: 'comment', id: `c${id}`, dataset: { id } }, n.article, h('div', { class: 'after-replies' }));
    if (n.level > 1) n.li.classList.add('nested');
    this.fillArticle(n);
  }

  /** (Re)draws a comment's article from n.c. */
  fillArticle(n) {
    const c = n.c;
    const id = c.comment_id;
    const author = c.deleted ? '[deleted]' : c.user;
    const collapsed = n.li.classList.contains('collapsed');
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'toggle',
        'aria-expanded': collapsed ? 'false' : 'true',
        'aria-label': `${collapsed ? 'Show' : 'Hide'} comment by ${author}`,
        dataset: { action: 'toggle', id },
      },
      collapsed ? '[+]' : '[−]',
    );
    const head = h(
      'div',
      { class: 'comment-head' },
      toggle,
      h('h3', { id: `c${id}-author`, class: 'author' }, c.deleted ? author : this.userLink(c.user)),
      this.metaOf(n),
    );
    const body = h('div', { class: 'comment-body' });
    if (c.deleted) body.append(h('p', { class: 'tombstone' }, 'This comment was deleted.'));
    else body.append(h('p', { class: 'text' }, richText(c.content)));
    n.slot = h('div', { class: 'slot' });
    clear(n.article);
    n.article.append(head, body, this.actionsOf(n), n.slot);
  }

  /** A link to a user's page; from the embed, in a new tab (our pages refuse frames). */
  userLink(name) {
    return h('a', { href: this.o.links.user(name), target: this.o.newTab ? '_blank' : null, rel: this.o.newTab ? 'noopener' : null }, name);
  }

  metaOf(n) {
    const c = n.c;
    const meta = h('span', { class: 'meta' });
    const link = h('a', { class: 'permalink', href: `#c${c.comment_id}` }, timeEl(c.create_time));
    link.setAttribute('aria-label', `Link to this comment, posted ${link.textContent}`);
    meta.append(link);
    if (!c.deleted && c.update_time !== c.create_time) {
      meta.append(' · ', h('span', { class: 'edited' }, 'edited ', timeEl(c.update_time)));
    }
    const replies = c.reply_count > 0 ? `, ${plural(c.reply_count, 'reply', 'replies')}` : '';
    meta.append(h('span', { class: 'collapsed-info' }, ` · ${signed(c.up - c.down)} points${replies}`));
    return meta;
  }

  actionsOf(n) {
    const c = n.c;
    const actions = h('div', { class: 'actions' });
    if (c.deleted) return actions;
    const author = c.user;
    const mine = this.myVotes.get(c.comment_id) || 0;
    const up = h(
      'button',
      { type: 'button', class: 'vote up', 'aria-pressed': String(mine === 1), 'aria-label': `Upvote comment by ${author}`, dataset: { action: 'vote', value: '1', id: c.comment_id } },
      h('span', { 'aria-hidden': 'true' }, '▲'),
    );
    const down = h(
      'button',
      { type: 'button', class: 'vote down', 'aria-pressed': String(mine === -1), 'aria-label': `Downvote comment by ${author}`, dataset: { action: 'vote', value: '-1', id: c.comment_id } },
      h('span', { 'aria-hidden': 'true' }, '▼'),
    );
    const score = h('span', { class: 'score' }, signed(c.up - c.down), h('span', { class: 'visually-hidden' }, ' points'));
    actions.append(h('div', { class: 'votes', role: 'group', 'aria-label': `Votes on comment by ${author}` }, up, score, down));
    if (n.level > 0) actions.append(this.actionButton('reply', 'Reply', `Reply to comment by ${author}`, c.comment_id));
    if (session.canEdit(c)) actions.append(this.actionButton('edit', 'Edit', `Edit comment by ${author}`, c.comment_id));
    if (session.canDelete(c)) actions.append(this.actionButton('delete', 'Delete', `Delete comment by ${author}`, c.comment_id));
    return actions;
  }

  actionButton(action, text, label, id) {
    return h('button', { type: 'button', class: `action ${action}`, 'aria-label': label, dataset: { action, id } }, text);
  }

  /** The topic's root, above the thread (mode 'page'). */
  renderPost(n) {
    const c = n.c;
    const box = this.o.postBox;
    const author = c.deleted ? '[deleted]' : c.user;
    if (this.o.title) this.o.title(c);
    n.li = h('div', { class: 'post-wrap' });
    n.article = h('article', { class: 'post', id: 'c0', tabindex: '-1', 'aria-labelledby': 'post-title' });
    const text = c.deleted ? '[deleted]' : c.content;
    const long = text.length > 200 || text.includes('\n');
    const title = h('h1', { id: 'post-title' }, long ? excerpt(text, 120) : text);
    const meta = h(
      'p',
      { class: 'post-meta' },
      'Started by ',
      c.deleted ? author : this.userLink(c.user),
      ' ',
      timeEl(c.create_time),
      ` · ${plural(c.view_count, 'view')}`,
    );
    if (!c.deleted && c.update_time !== c.create_time) meta.append(' · edited ', timeEl(c.update_time));
    n.slot = h('div', { class: 'slot' });
    n.article.append(title, meta);
    if (long && !c.deleted) n.article.append(h('div', { class: 'comment-body' }, h('p', { class: 'text' }, richText(text))));
    n.article.append(this.actionsOf(n), n.slot);
    n.li.append(n.article);
    clear(box);
    box.append(n.li);
    n.li.addEventListener('click', (ev) => this.onClick(ev));
  }

  /** Redraws every comment's actions, when who is signed in changed. */
  redrawActions() {
    this.loadVotes().then(() => {
      for (const n of this.nodes.values()) {
        if (n.busy || n.editing) continue;
        const old = n.article.querySelector(':scope > .actions');
        if (old) old.replaceWith(this.actionsOf(n));
      }
    });
  }

  // ---- actions --------------------------------------------------------

  onClick(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    const n = this.nodes.get(Number(btn.dataset.id));
    if (!n) return;
    switch (btn.dataset.action) {
      case 'toggle':
        return this.toggle(n);
      case 'unfold':
        return this.unfold(n);
      case 'vote':
        return this.vote(n, Number(btn.dataset.value));
      case 'reply':
        return this.openReply(n, btn);
      case 'edit':
        return this.openEdit(n);
      case 'delete':
        return this.confirmDelete(n, btn);
    }
  }

  toggle(n) {
    n.li.classList.toggle('collapsed');
    const collapsed = n.li.classList.contains('collapsed');
    const btn = n.article.querySelector('.toggle');
    const author = n.c.deleted ? '[deleted]' : n.c.user;
    btn.setAttribute('aria-expanded', String(!collapsed));
    btn.setAttribute('aria-label', `${collapsed ? 'Show' : 'Hide'} comment by ${author}`);
    btn.textContent = collapsed ? '[+]' : '[−]';
  }

  /** The error of an action, by its comment's buttons. */
  actionError(n, msg) {
    let p = n.slot.querySelector(':scope > .action-error');
    if (!p) {
      p = h('p', { class: 'error action-error', role: 'alert' });
      n.slot.prepend(p);
    }
    p.textContent = msg;
  }

  clearActionError(n) {
    const p = n.slot.querySelector(':scope > .action-error');
    if (p) p.remove();
  }

  /**
   * Sets the vote to the end state wanted (1, -1, or 0 when the pressed
   * arrow is pressed again), at once on screen; the server's counts
   * replace the guess, an error restores what was there.
   */
  async vote(n, value) {
    if (n.busy) return;
    const problem = writeProblemFor();
    if (problem) return this.actionError(n, problem);
    const c = n.c;
    const before = { up: c.up, down: c.down, mine: this.myVotes.get(c.comment_id) || 0 };
    const want = before.mine === value ? 0 : value;
    const apply = (up, down, mine) => {
      c.up = up;
      c.down = down;
      this.myVotes.set(c.comment_id, mine);
      const actions = n.article.querySelector(':scope > .actions');
      actions.querySelector('.vote.up').setAttribute('aria-pressed', String(mine === 1));
      actions.querySelector('.vote.down').setAttribute('aria-pressed', String(mine === -1));
      actions.querySelector('.score').firstChild.textContent = signed(up - down);
      const info = n.article.querySelector('.collapsed-info');
      if (info) info.replaceWith(this.metaOf(n).querySelector('.collapsed-info'));
    };
    let up = c.up - (before.mine === 1 ? 1 : 0) + (want === 1 ? 1 : 0);
    let down = c.down - (before.mine === -1 ? 1 : 0) + (want === -1 ? 1 : 0);
    n.busy = true;
    const buttons = n.article.querySelectorAll(':scope > .actions .vote');
    for (const b of buttons) b.disabled = true;
    apply(up, down, want);
    this.clearActionError(n);
    try {
      const res = await send('PUT', `/v1/topics/${this.topicId}/comments/${c.comment_id}/vote`, { value: want, user: session.bodyUser() });
      apply(res.data.up, res.data.down, want);
      announce(want === 0 ? 'Vote withdrawn.' : want === 1 ? 'Upvoted.' : 'Downvoted.');
    } catch (err) {
      apply(before.up, before.down, before.mine);
      this.actionError(n, `The vote failed: ${err.message}`);
    } finally {
      n.busy = false;
      for (const b of buttons) b.disabled = false;
    }
  }

  openReply(n, btn) {
    if (this.openForm) this.openForm.close(false);
    const author = n.c.user;
    const c = composer({
      id: `reply-${n.c.comment_id}`,
      label: `Reply to ${author}`,
      submitText: 'Post reply',
      draftKey: `parley.draft.${this.topicId}.${n.c.comment_id}`,
      onSubmit: (text) => this.postReply(n, text),
      onCancel: () => close(true),
    });
    const close = (refocus) => {
      c.form.remove();
      btn.setAttribute('aria-expanded', 'false');
      if (this.openForm && this.openForm.form === c.form) this.openForm = null;
      if (refocus && btn.isConnected) btn.focus();
    };
    this.openForm = { form: c.form, close };
    btn.setAttribute('aria-expanded', 'true');
    n.slot.append(c.form);
    c.focus();
  }

  async postReply(n, text) {
    const res = await send('POST', '/post_comment', {
      topic_id: this.topicId,
      parent_path: n.c.parent_path,
      content: text,
      user: session.bodyUser(),
    });
    if (this.openForm) this.openForm.close(false);
    await this.showOwn(res.data, n);
  }

  async postTop(text) {
    let body;
    if (this.topicId) {
      body = { topic_id: this.topicId, parent_path: '0', content: text, user: session.bodyUser() };
    } else {
      // The first comment on the key starts its topic (SPEC §13).
      body = { topic_key: this.o.topicKey, content: text, user: session.bodyUser() };
    }
    const res = await send('POST', '/post_comment', body);
    if (!this.topicId || res.data.new_topic) {
      this.topicId = res.data.topic_id;
      if (this.o.onTopic) this.o.onTopic(this.topicId);
    }
    await this.showOwn(res.data, this.nodes.get(0) || null);
  }

  /**
   * Shows a comment this tab just posted, at once: read back from a
   * reader with min_position (the send remembered the position), put
   * first among its siblings, focused and announced.
   */
  async showOwn(posted, parent) {
    const id = posted.comment_id;
    // Known as ours, so the poll does not offer it again; others' comments
    // with lower ids still come through the banner.
    this.own.add(id);
    this.count = Math.max(this.count || 0, id + 1);
    this.updateHeading();
    this.status.textContent = '';
    if (parent) {
      parent.c.reply_count++;
    }
    if (parent && parent.level >= MAX_LEVEL) {
      this.updateContinue(parent);
      parent.continueLink.focus();
      announce('Reply posted. It is in the continued thread.');
      return;
    }
    const res = await get(`/v1/topics/${this.topicId}/comments/${id}`);
    const c = res.data;
    const n = this.place(c, this.sort === 'new' || parent ? 'start' : 'end');
    if (!n) return;
    if (parent) this.updateMeta(parent);
    n.li.classList.add('own');
    n.article.focus();
    announce('Your comment was posted.');
  }

  updateMeta(n) {
    if (n.level === 0) return;
    const old = n.article.querySelector('.comment-head .meta');
    if (old) old.replaceWith(this.metaOf(n));
  }

  async openEdit(n) {
    if (n.editing) return;
    n.editing = true;
    const c = n.c;
    this.clearActionError(n);
    let etag = null;
    let current = c.content;
    try {
      // The version to edit, as If-Match: an edit made meanwhile is not
      // overwritten (412).
      const res = await get(`/v1/topics/${this.topicId}/comments/${c.comment_id}`);
      etag = res.etag;
      current = res.data.content;
    } catch (err) {
      n.editing = false;
      return this.actionError(n, `The comment could not be loaded for editing: ${err.message}`);
    }
    const form = composer({
      id: `edit-${c.comment_id}`,
      label: `Edit comment by ${c.user}`,
      submitText: 'Save',
      initial: current,
      onSubmit: async (text) => {
        try {
          const res = await send('PATCH', `/v1/topics/${this.topicId}/comments/${c.comment_id}`, { content: text }, { ifMatch: etag });
          c.content = text;
          c.update_time = res.data.update_time;
        } catch (err) {
          if (err instanceof ApiError && err.status === 412) {
            throw new ApiError(412, 'This comment was changed after you began editing. Copy your text, cancel, and reload the page to see the new version.');
          }
          throw err;
        }
        n.editing = false;
        if (n.level === 0) this.renderPost(n);
        else this.fillArticle(n);
        n.article.focus();
        announce('Comment saved.');
      },
      onCancel: () => {
        n.editing = false;
        form.form.remove();
        for (const el of hiddenForEdit) el.hidden = false;
        const again = n.article.querySelector('button.edit');
        if (again) again.focus();
      },
    });
    const hiddenForEdit = [...n.article.querySelectorAll(':scope > .comment-body, :scope > .actions')];
    for (const el of hiddenForEdit) el.hidden = true;
    n.slot.append(form.form);
    form.focus();
  }

  confirmDelete(n, btn) {
    if (n.slot.querySelector('.confirm')) return;
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, delete');
    const no = h('button', { type: 'button' }, 'Cancel');
    const error = h('p', { class: 'error', role: 'alert' });
    const box = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm deletion' }, h('p', {}, 'Delete this comment?'), yes, no, error);
    no.addEventListener('click', () => {
      box.remove();
      btn.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await send('DELETE', `/v1/topics/${this.topicId}/comments/${n.c.comment_id}`);
      } catch (err) {
        yes.disabled = false;
        error.textContent = `The comment could not be deleted: ${err.message}`;
        return;
      }
      this.markDeleted(n);
    });
    n.slot.append(box);
    yes.focus();
  }

  /**
   * Shows a comment as deleted: a tombstone while it has replies (they
   * stay), gone when it has none.
   */
  markDeleted(n) {
    n.c.deleted = true;
    n.c.content = '';
    announce('Comment deleted.');
    if (n.level === 0) {
      this.renderPost(n);
      n.article.focus();
      return;
    }
    if (n.c.reply_count > 0) {
      this.fillArticle(n);
      n.article.focus();
      return;
    }
    // Focus goes to the next comment, else the parent, else the heading.
    const next = n.li.nextElementSibling || n.li.previousElementSibling;
    const parent = this.nodes.get(n.c.parent_id);
    n.li.remove();
    this.nodes.delete(n.c.comment_id);
    if (parent && parent.level > 0 && parent.shown > 0) parent.shown--;
    const target = next && next.matches('li.comment') ? next.querySelector(':scope > article') : parent && parent.level > 0 ? parent.article : this.heading;
    target.focus();
  }

  // ---- sorting --------------------------------------------------------

  setSort(sort) {
    this.sort = sort;
    const url = new URL(location.href);
    if (sort === DEFAULT_SORT) url.searchParams.delete('sort');
    else url.searchParams.set('sort', sort);
    history.replaceState(null, '', url);
    this.load().then(
      () => announce(`Sorted by ${sort}.`),
      () => {},
    );
  }

  // ---- live updates ---------------------------------------------------

  /**
   * Polls /topic_counts (one small answer, 304 while nothing changed),
   * every 5 s while the page is seen, every 30 s while hidden, backing off
   * to a minute on errors. Comments others posted are fetched by id (ids
   * are sequential) and wait behind the banner; nothing moves until it is
   * pressed.
   */
  startPolling() {
    this.stopPolling();
    if (!this.onVisibility) {
      this.onVisibility = () => {
        if (!document.hidden) this.schedule(0);
      };
      document.addEventListener('visibilitychange', this.onVisibility);
    }
    this.schedule(this.pollDelay);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  schedule(ms) {
    clearTimeout(this.pollTimer);
    const gen = this.generation;
    this.pollTimer = setTimeout(() => this.poll(gen), ms);
  }

  async poll(gen) {
    try {
      const changed = await this.refreshCount();
      if (gen !== this.generation) return;
      if (changed || this.count > this.known) await this.fetchNew(gen);
      this.pollDelay = document.hidden ? POLL_HIDDEN : POLL_VISIBLE;
    } catch {
      this.pollDelay = Math.min(POLL_MAX, this.pollDelay * 2);
    }
    if (gen === this.generation) this.schedule(document.hidden ? Math.max(this.pollDelay, POLL_HIDDEN) : this.pollDelay);
  }

  async fetchNew(gen) {
    if (!this.topicId) return;
    const ids = [];
    for (let id = this.known; id < this.count; id++) {
      if (!this.own.has(id) && !this.nodes.has(id)) ids.push(id);
    }
    this.known = this.count;
    if (ids.length === 0) return;
    if (this.pending.length + ids.length > LIVE_FETCH_MAX) {
      this.pending.push(...ids.map((id) => ({ comment_id: id, stub: true })));
    } else {
      const got = await Promise.all(
        ids.map((id) =>
          get(`/v1/topics/${this.topicId}/comments/${id}`).then(
            (r) => r.data,
            () => null,
          ),
        ),
      );
      if (gen !== this.generation) return;
      this.pending.push(...got.filter((c) => c && !c.deleted));
    }
    this.updateHeading();
    this.updateBanner();
    if (this.pending.length) announce(`${plural(this.pending.length, 'new comment')}. The button “${this.banner.textContent}” shows them.`);
  }

  updateBanner() {
    const n = this.pending.length;
    this.banner.hidden = n === 0;
    if (n === 0) return;
    const many = this.pending.some((c) => c.stub);
    this.banner.textContent = many ? `${plural(n, 'new comment')}: reload the thread` : `Show ${plural(n, 'new comment')}`;
  }

  /** Puts the waiting comments in place, focusing the first. */
  async showPending() {
    const items = this.pending;
    this.pending = [];
    this.updateBanner();
    if (items.some((c) => c.stub)) {
      await this.load();
      this.heading.focus();
      announce('The thread was reloaded.');
      return;
    }
    const added = [];
    for (const c of items) {
      if (this.nodes.has(c.comment_id)) continue;
      const parent = this.nodes.get(c.parent_id);
      if (parent) {
        parent.c.reply_count++;
        if (parent.level >= MAX_LEVEL) {
          this.updateContinue(parent);
          continue;
        }
      }
      const n = this.place(c, this.sort === 'new' ? 'start' : 'end');
      if (!n) continue;
      if (n.li.hidden) {
        // It went behind its parent's fold: show it, it is what was asked for.
        const p = this.nodes.get(c.parent_id);
        p.folded = p.folded.filter((x) => x !== n);
        n.li.hidden = false;
        p.shown++;
        this.updateFold(p);
      }
      n.li.classList.add('fresh');
      if (parent) this.updateMeta(parent);
      added.push(n);
    }
    this.status.textContent = this.nodes.size > 0 ? '' : this.status.textContent;
    if (added.length) {
      added[0].article.focus();
      added[0].article.scrollIntoView({ block: 'center' });
    }
    announce(`${plural(added.length, 'new comment')} shown.`);
  }

  /** After the page loaded: scroll to and focus the comment in the hash. */
  focusHash() {
    const m = /^#c(\d+)$/.exec(location.hash);
    if (!m) return;
    const n = this.nodes.get(Number(m[1]));
    if (!n) return;
    let p = n;
    // Unfold and expand what hides it.
    while (p) {
      const parent = this.nodes.get(p.c.parent_id);
      if (p.li.hidden && parent) this.unfold(parent);
      if (parent && parent.li.classList.contains('collapsed')) this.toggle(parent);
      p = parent && parent !== p ? parent : null;
    }
    n.li.classList.add('target');
    n.article.focus();
    n.article.scrollIntoView({ block: 'center' });
  }
}

function writeProblemFor() {
  if (session.mode === 'none') return session.name ? '' : 'Type a name in the "Your name" field to vote.';
  return session.user() ? '' : session.embedded ? 'Sign in on this site to vote.' : 'Sign in to vote.';
}
