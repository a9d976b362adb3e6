// A list paged by Link: rel="next" (the home page's topics, a user's
// comments): the first page, then a "More …" button that loads the next,
// moves the focus to its first item and announces how many came.

import { get } from './api.js';
import { announce, plural } from './dom.js';

export async function pagedList({ path, query, pages, add, focus, status, empty, failed, more, moreError, noun }) {
  let next = null;
  try {
    const res = await get(path, query);
    add(res.data);
    next = pages ? res.next : null;
    status.textContent = res.data.length === 0 ? empty : '';
  } catch (err) {
    status.textContent = `${failed}: ${err.message}`;
  }
  more.hidden = !next;
  more.addEventListener('click', async () => {
    more.disabled = true;
    moreError.textContent = '';
    try {
      const res = await get(next);
      const added = add(res.data);
      next = res.next;
      more.hidden = !next;
      if (added.length) focus(added[0]).focus();
      announce(`${plural(added.length, `more ${noun}`)} loaded.`);
    } catch (err) {
      moreError.textContent = `More ${noun}s could not be loaded: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  });
}
