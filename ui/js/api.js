// The one place the UI talks to Portcullis's admin API.
//
// Where the API is and which token it takes:
//   - inside the desktop app, the shell sets `window.__PORTCULLIS__ = {apiBase, token}`
//     before this script runs;
//   - in a browser (`portcullis serve` at /ui/), the API is this page's origin + /api/v1
//     and the person types the token once; it is kept in sessionStorage (this tab only).
// Every request carries `Authorization: Bearer <token>`. The token is also what the
// activity log records as who decided: the desktop app's window and popup get tokens of
// their own; in a browser the admin token is used and decisions are recorded as `api`.
// Nothing the page could claim about itself (a header) counts. Live events come from
// GET /events, read with fetch() so that the token goes in a header, never in a URL.

const STORAGE_KEY = 'portcullis.token';
const injected = (typeof window !== 'undefined' && window.__PORTCULLIS__) || null;

/** True inside the desktop app, which hands the token over itself. */
export const embedded = Boolean(injected && injected.token);

/** The admin API's base URL, without a trailing slash. */
export const apiBase = String((injected && injected.apiBase) || `${location.origin}/api/v1`).replace(/\/+$/, '');

let token = (injected && injected.token) || sessionStorage.getItem(STORAGE_KEY) || '';
let unauthorized = () => {};

/** An API failure, with the gateway's message and hint kept apart. */
export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint || null;
  }
}

export function hasToken() {
  return token !== '';
}

/** Keeps the token for this tab. */
export function setToken(value) {
  token = String(value || '').trim();
  if (!embedded) sessionStorage.setItem(STORAGE_KEY, token);
}

export function forgetToken() {
  token = '';
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Called whenever the API answers 401 (a wrong or missing token). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

function headers(json) {
  const h = { Authorization: `Bearer ${token}` };
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

/** One request; resolves to the decoded JSON answer or throws an ApiError. */
export async function request(method, path, body) {
  let resp;
  try {
    resp = await fetch(`${apiBase}/${path}`, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'Portcullis does not answer.', 'Is the gateway still running? Start it with `portcullis serve`.');
  }
  const data = await resp.json().catch(() => null);
  if (resp.status === 401) unauthorized();
  if (!resp.ok) {
    const err = new ApiError(resp.status, (data && data.error) || `The gateway answered HTTP ${resp.status}.`, data && data.hint);
    // An approval refused because the definitions changed: what the server lists now.
    if (data && Array.isArray(data.changed)) err.changed = data.changed;
    // A registry server's values not given: [{key, place, required, secret, …}].
    if (data && Array.isArray(data.missing)) err.missing = data.missing;
    throw err;
  }
  return data;
}

const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};
const seg = encodeURIComponent;

/** The admin API's operations, one function each. */
export const api = {
  servers: () => request('GET', 'servers'),
  addServer: (form) => request('POST', 'servers', form),
  importServers: (snippet) => request('POST', 'servers', { snippet }),
  removeServer: (name) => request('DELETE', `servers/${seg(name)}`),
  enableServer: (name) => request('POST', `servers/${seg(name)}/enable`, {}),
  disableServer: (name) => request('POST', `servers/${seg(name)}/disable`, {}),
  login: (name) => request('POST', `servers/${seg(name)}/login`, {}),
  /**
   * body: {} for the server itself, or {tools: [{name, hash}]}: each tool with the hash of
   * the definition the person was shown (an approval of anything else is refused, 409).
   */
  approve: (server, body = {}) => request('POST', `servers/${seg(server)}/approve`, body),
  block: (server, body = {}) => request('POST', `servers/${seg(server)}/block`, body),
  tools: (server) => request('GET', `tools${q({ server })}`),
  pending: () => request('GET', 'tools/pending'),
  /** Instructions, prompts, resources and templates waiting, each with its hash. */
  pendingItems: () => request('GET', 'items/pending'),
  detail: (server, tool) => request('GET', `tools/detail${q({ server, tool })}`),
  search: (text, { server, limit = 50 } = {}) => request('GET', `search${q({ q: text, server, limit })}`),
  activity: ({ limit = 200, after_id } = {}) => request('GET', `activity${q({ limit, after_id })}`),
  clients: () => request('GET', 'clients'),
  /** `profile`: the one the client sees ('' or none: every approved tool). */
  installClient: (id, profile) => request('POST', `clients/${seg(id)}/install`, profile ? { profile } : {}),
  undoClient: (id) => request('POST', `clients/${seg(id)}/undo`, {}),
  clientServers: (id) => request('GET', `clients/${seg(id)}/servers`),
  importClient: (id) => request('POST', `clients/${seg(id)}/import`, {}),
  settings: () => request('GET', 'settings'),
  /** One page of the MCP registry's servers whose name or description has `search`. */
  registrySearch: (search, cursor) => request('GET', `registry/servers${q({ search, cursor })}`),
  /** One registry server with the values its package and its remote take. */
  registryServer: (name, version) => request('GET', `registry/server${q({ name, version })}`),
  /** body: {name, version?, local_name?, via?, isolation?, values}; a 400 names what is `missing`. */
  registryAdd: (body) => request('POST', 'registry/add', body),
  saveSettings: (change) => request('POST', 'settings', change),
  /** Every profile with the servers it covers and the clients bound to it. */
  profiles: () => request('GET', 'profiles'),
  /** body: {description?, servers, tools?, surface?}; replaces a profile of that name. */
  saveProfile: (name, body) => request('PUT', `profiles/${seg(name)}`, body),
  removeProfile: (name) => request('DELETE', `profiles/${seg(name)}`),
};

/**
 * Follows GET /events (server-sent events). `onEvent(event)` gets each gateway event
 * (an object with `type`); `onStatus('live' | 'connecting' | 'offline')` tells whether
 * the stream is up. Reconnects with a growing delay. Returns a function that stops it.
 */
export function subscribe(onEvent, onStatus = () => {}) {
  let stopped = false;
  let controller = null;
  let delay = 1000;

  async function connect() {
    while (!stopped) {
      controller = new AbortController();
      onStatus('connecting');
      try {
        const resp = await fetch(`${apiBase}/events`, { headers: headers(false), signal: controller.signal, cache: 'no-store' });
        if (resp.status === 401) {
          unauthorized();
          onStatus('offline');
          return;
        }
        if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
        onStatus('live');
        delay = 1000;
        await read(resp.body, onEvent);
      } catch (e) {
        if (stopped) return;
      }
      onStatus('offline');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }

  connect();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}

/** Reads an event stream to its end, calling `onEvent` for each `gateway` event. */
async function read(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (name !== 'gateway' || data.length === 0) continue;
      try {
        onEvent(JSON.parse(data.join('\n')));
      } catch (e) {
        console.warn('portcullis: an event that is not JSON', e);
      }
    }
  }
}
