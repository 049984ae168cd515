// What the main window and the popup share: the token prompt, toasts, and
// the live event stream fanned out to whoever listens.

import { api, ApiError, embedded, hasToken, onUnauthorized, setToken, forgetToken, subscribe } from './api.js';
import { h, fill } from './dom.js';

/** Shows a short message; errors (with their hint) stay until closed. */
export function toast(message, { hint, error = false } = {}) {
  const box = document.getElementById('toasts');
  const close = h('button', { type: 'button', 'aria-label': 'Dismiss', text: '×' });
  const el = h('div', { class: ['toast', error && 'error'], role: error ? 'alert' : 'status' },
    h('div', { class: 'grow' }, message, hint && h('span', { class: 'hint', text: hint })), close);
  close.addEventListener('click', () => el.remove());
  box.appendChild(el);
  if (!error) setTimeout(() => el.remove(), 4500);
}

/** Reports a failed API call. */
export function fail(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return; // the token prompt is showing
    toast(err.message, { hint: err.hint, error: true });
  } else {
    console.error(err);
    toast(String((err && err.message) || err), { error: true });
  }
}

/** An inline error block with the gateway's message and hint. */
/**
 * A person's action from a page (approve, block, enable…): success is toasted and the
 * Approvals badge refreshed, a failure is shown. Returns whether it worked. The caller
 * keeps its button busy around it and reloads what the action changed.
 */
export async function act(ctx, what, done) {
  try {
    await what();
    ctx.toast(done);
    ctx.refreshBadges();
    return true;
  } catch (e) {
    ctx.fail(e);
    return false;
  }
}

export function errorBox(err) {
  return h('div', { class: 'alert error', role: 'alert' }, err.message || String(err), err.hint && h('span', { class: 'hint', text: `Hint: ${err.hint}` }));
}

/** Resolves once the API accepts the token, asking the person for it when needed. */
export function authenticate() {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  const ask = (message) => {
    if (embedded) return; // the desktop app's token cannot be wrong: nothing to ask
    error.hidden = !message;
    if (message) fill(error, message);
    input.value = '';
    if (!dialog.open) dialog.showModal();
    input.focus();
  };
  onUnauthorized(() => {
    forgetToken();
    ask('That token was refused. Paste the one in admin.token.');
  });
  return new Promise((resolve) => {
    const check = async () => {
      try {
        await api.servers();
        if (dialog.open) dialog.close();
        resolve();
      } catch (e) {
        if (e.status !== 401) ask(e.message);
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      setToken(input.value);
      check();
    });
    dialog.addEventListener('cancel', (ev) => ev.preventDefault()); // Esc would leave an empty page
    if (hasToken()) check();
    else ask();
  });
}

const listeners = new Set();
let status = 'connecting';
const statusListeners = new Set();

/** Starts the event stream once; `listen(fn)` then gets every gateway event. */
export function startEvents() {
  subscribe(
    (event) => listeners.forEach((fn) => fn(event)),
    (s) => {
      status = s;
      statusListeners.forEach((fn) => fn(s));
    },
  );
}

export function listen(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function listenStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

/** Calls `fn` at most once per `ms`, with the last arguments, trailing. */
export function throttle(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
