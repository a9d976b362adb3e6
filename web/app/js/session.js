// Who is writing, as the deployment's AUTH_MODE allows (GET /v1/config):
// in "none" a name the person types (kept in localStorage); in "jwt" a
// token the host site signed for its logged-in user: pasted on our own
// page (kept for the tab in sessionStorage), or handed to the embed frame
// by the host page's Parley.setToken (kept in memory only). The page reads
// the token's claims only to know whom to show as signed in and which
// buttons to offer; the writer verifies it and decides (SPEC §8).

import { get, setBearer } from './api.js';
import { h, clear, store, announce } from './dom.js';

const NAME_KEY = 'parley.name';
const TOKEN_KEY = 'parley.token';

const listeners = new Set();

export const session = {
  mode: 'none',
  embedded: false,
  name: store.get(NAME_KEY) || '',
  token: null,
  claims: null,

  /** The name comments are shown under, '' when signed out. */
  user() {
    if (this.mode === 'none') return this.name;
    return this.claims ? displayName(this.claims) : '';
  },

  moderator() {
    if (this.mode !== 'jwt' || !this.claims) return false;
    const roles = [];
    if (typeof this.claims.role === 'string') roles.push(this.claims.role);
    if (Array.isArray(this.claims.roles)) roles.push(...this.claims.roles);
    return roles.includes('moderator') || roles.includes('admin');
  },

  /** The body's user field: the typed name in none mode, else nothing. */
  bodyUser() {
    return this.mode === 'none' ? this.name : undefined;
  },

  /**
   * Edit: the author only. In none mode the server lets anyone edit, but
   * the page offers it on the comments under the name typed: yours.
   */
  canEdit(c) {
    return !c.deleted && this.user() !== '' && c.user === this.user();
  },

  /** Delete: the author, or a moderator or admin. */
  canDelete(c) {
    return !c.deleted && this.user() !== '' && (c.user === this.user() || this.moderator());
  },

  /** The voter for /user_votes: the name, or (jwt) the token's subject. */
  voter() {
    if (this.mode === 'none') return this.name || null;
    return this.claims ? this.claims.sub : null;
  },

  /** Sets (or with null clears) the token; answers an error message or ''. */
  setToken(token) {
    if (!token) {
      this.token = null;
      this.claims = null;
      setBearer(null);
      if (!this.embedded) sessionRemove(TOKEN_KEY);
      changed();
      return '';
    }
    const claims = decodeClaims(token);
    if (!claims) return 'That is not a token (a JWT has three parts separated by dots).';
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return 'That token has expired: get a new one.';
    this.token = token;
    this.claims = claims;
    setBearer(token);
    if (!this.embedded) sessionSet(TOKEN_KEY, token);
    changed();
    return '';
  },

  setName(name) {
    this.name = name;
    store.set(NAME_KEY, name);
    changed();
  },

  /** Calls fn whenever who is signed in changes. */
  onChange(fn) {
    listeners.add(fn);
  },
};

function changed() {
  for (const fn of listeners) fn();
}

/** Loads the site's configuration and the identity kept for this tab. */
export async function startSession({ embedded = false } = {}) {
  session.embedded = embedded;
  try {
    const res = await get('/v1/config', {}, { withPosition: false });
    if (res.data && res.data.auth_mode === 'jwt') session.mode = 'jwt';
  } catch {
    // Without the configuration the page still reads; writes will say why
    // they fail.
  }
  if (session.mode === 'jwt' && !embedded) {
    const kept = sessionGet(TOKEN_KEY);
    if (kept && session.setToken(kept) !== '') session.setToken(null);
  }
}

/** Checks a user name as the writer does: 1–64 characters, no controls. */
export function nameProblem(name) {
  if (name === '') return 'Enter a name first.';
  if ([...name].length > 64) return 'A name has at most 64 characters.';
  if (/\p{Cc}/u.test(name)) return 'A name cannot hold control characters.';
  return '';
}

/**
 * What stops this person from writing now, or '' when nothing does; the
 * caller shows it by its button.
 */
export function writeProblem() {
  if (session.mode === 'none') {
    const p = nameProblem(session.name);
    return p === '' ? '' : `${p} Type the name to post under in the "Your name" field.`;
  }
  if (session.user() === '') {
    return session.embedded ? 'Sign in on this site to comment.' : 'Sign in first: paste your token in the "Sign-in token" field.';
  }
  return '';
}

/** Focuses the sign-in control, after writeProblem() said one is needed. */
export function focusSignIn() {
  const el = document.getElementById('signin-name') || document.getElementById('signin-token');
  if (el) el.focus();
}

/** Renders the sign-in control into box, again on every change. */
export function renderSignIn(box) {
  const draw = () => {
    // The name field stays as it is while the person types in it.
    if (session.mode === 'none' && box.querySelector('#signin-name')) return;
    const focused = box.contains(document.activeElement) ? document.activeElement.id : '';
    clear(box);
    if (session.mode === 'none') box.append(nameField());
    else if (session.user() !== '') box.append(signedIn());
    else box.append(session.embedded ? h('p', { class: 'signin-status' }, 'Sign in on this site to comment.') : tokenForm());
    const again = focused && document.getElementById(focused);
    if (again) again.focus();
  };
  session.onChange(draw);
  draw();
}

function nameField() {
  const error = h('p', { id: 'signin-name-error', class: 'error', role: 'alert', hidden: true });
  const input = h('input', {
    id: 'signin-name',
    type: 'text',
    autocomplete: 'nickname',
    maxlength: 64,
    spellcheck: 'false',
    value: session.name,
    'aria-describedby': 'signin-name-error',
  });
  // Kept as typed, so a Post clicked straight after typing uses it; the
  // page redraws (edit buttons follow the name) once the field is left.
  input.addEventListener('input', () => {
    const name = input.value.trim();
    if (nameProblem(name) === '') {
      session.name = name;
      store.set(NAME_KEY, name);
    }
  });
  input.addEventListener('change', () => {
    const name = input.value.trim();
    const p = name === '' ? '' : nameProblem(name);
    error.textContent = p;
    error.hidden = p === '';
    if (p === '') {
      session.setName(name);
      if (name !== '') announce(`You will post as ${name}.`);
    }
  });
  return h('div', { class: 'signin-name' }, h('label', { for: 'signin-name' }, 'Your name'), input, error);
}

function tokenForm() {
  const error = h('p', { id: 'signin-token-error', class: 'error', role: 'alert', hidden: true });
  const input = h('input', {
    id: 'signin-token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'signin-token-error',
  });
  const form = h(
    'form',
    { class: 'signin-token', 'aria-label': 'Sign in' },
    h('label', { for: 'signin-token' }, 'Sign-in token'),
    input,
    h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = session.setToken(input.value.trim());
    error.textContent = p;
    error.hidden = p === '';
    if (p === '') {
      announce(`Signed in as ${session.user()}.`);
      const out = document.getElementById('signout');
      if (out) out.focus();
    }
  });
  return form;
}

function signedIn() {
  const who = h('p', { class: 'signin-status' }, 'Signed in as ', h('strong', {}, session.user()));
  if (session.moderator()) who.append(' (moderator)');
  if (session.embedded) return who;
  const out = h('button', { type: 'button', id: 'signout' }, 'Sign out');
  out.addEventListener('click', () => {
    session.setToken(null);
    announce('Signed out.');
    focusSignIn();
  });
  return h('div', { class: 'signin-status-row' }, who, out);
}

function displayName(c) {
  for (const k of ['preferred_username', 'name', 'sub']) {
    if (typeof c[k] === 'string' && c[k] !== '') return c[k];
  }
  return '';
}

/** A JWT's payload, not verified (the writer verifies), or null. */
export function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' && typeof claims.sub === 'string' ? claims : null;
  } catch {
    return null;
  }
}

function sessionGet(k) {
  try {
    return sessionStorage.getItem(k);
  } catch {
    return null;
  }
}
function sessionSet(k, v) {
  try {
    sessionStorage.setItem(k, v);
  } catch {
    // memory only
  }
}
function sessionRemove(k) {
  try {
    sessionStorage.removeItem(k);
  } catch {
    // nothing kept
  }
}
