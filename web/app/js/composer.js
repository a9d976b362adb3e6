// The comment form: new topics, top-level comments, replies and edits.
// As remark42's: Ctrl/Cmd+Enter sends, Enter is a new line, Escape closes
// a reply or edit form; the draft is kept in localStorage by its place and
// dropped only after the server accepted it; on an error the text stays,
// and the server's message shows by the button (role="alert").

import { h, store } from './dom.js';
import { writeProblem, focusSignIn } from './session.js';

/** The writer's default MAX_CONTENT_BYTES: the counter shows near it. */
const MAX_BYTES = 65536;
const encoder = new TextEncoder();

/**
 * A comment form. opts: id (prefix of the element ids), label (the
 * textarea's visible label), submitText, initial (text to start with),
 * draftKey (where to keep the draft; none for edits), onSubmit(text) (a
 * promise; its rejection's message is shown), onCancel (a Cancel button
 * and Escape; none for forms always shown), labelHidden.
 * Answers {form, textarea, focus(), showError(msg)}.
 */
export function composer(opts) {
  const { id, label, submitText, initial = '', draftKey, onSubmit, onCancel, labelHidden = false } = opts;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const textarea = h('textarea', {
    id: `${id}-text`,
    name: 'content',
    rows: 3,
    'aria-describedby': `${hintId} ${errorId}`,
  });
  textarea.value = (draftKey && store.get(draftKey)) || initial;
  const counter = h('span', { class: 'counter', hidden: true });
  const hint = h('p', { id: hintId, class: 'hint' }, 'Ctrl+Enter sends.', ' ', counter);
  const error = h('p', { id: errorId, class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitText);
  const buttons = h('div', { class: 'form-buttons' }, submit);
  let cancel = null;
  if (onCancel) {
    cancel = h('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', () => onCancel());
    buttons.append(cancel);
  }
  buttons.append(error);
  const form = h(
    'form',
    { class: 'composer', id, 'aria-label': label, novalidate: true },
    h('label', { for: textarea.id, class: labelHidden ? 'visually-hidden' : null }, label),
    textarea,
    hint,
    buttons,
  );

  let busy = false;
  const showError = (msg) => {
    error.textContent = msg;
  };
  const updateCounter = () => {
    const bytes = encoder.encode(textarea.value).length;
    // Shown, and so read, only near the limit.
    const near = bytes > MAX_BYTES * 0.9;
    counter.hidden = !near;
    if (near) counter.textContent = bytes > MAX_BYTES ? `${(bytes - MAX_BYTES).toLocaleString('en')} bytes over the limit.` : `${(MAX_BYTES - bytes).toLocaleString('en')} bytes left.`;
  };
  textarea.addEventListener('input', () => {
    if (draftKey) store.set(draftKey, textarea.value);
    if (error.textContent) showError('');
    updateCounter();
  });
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    } else if (ev.key === 'Escape' && onCancel) {
      ev.preventDefault();
      onCancel();
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const text = textarea.value;
    if (text.trim() === '') {
      showError('Write something first.');
      textarea.focus();
      return;
    }
    const problem = writeProblem();
    if (problem) {
      showError(problem);
      focusSignIn();
      return;
    }
    busy = true;
    submit.disabled = true;
    textarea.readOnly = true;
    form.setAttribute('aria-busy', 'true');
    showError('');
    try {
      await onSubmit(text);
      if (draftKey) store.set(draftKey, null);
      textarea.value = '';
      updateCounter();
    } catch (err) {
      showError(err && err.message ? err.message : String(err));
    } finally {
      busy = false;
      submit.disabled = false;
      textarea.readOnly = false;
      form.removeAttribute('aria-busy');
    }
  });
  updateCounter();
  return { form, textarea, focus: () => textarea.focus(), showError };
}
