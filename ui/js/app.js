// The main window: a sidebar of pages and the page shown, chosen by the URL's
// hash (#/servers, #/catalog?q=text&server=name, #/tools?server=s&tool=t, #/approvals, #/activity, #/connect, #/profiles, #/settings).

import { api, apiBase, embedded } from './api.js';
import { h, fill, icon, ICONS } from './dom.js';
import { authenticate, fail, listen, listenStatus, startEvents, throttle, toast } from './shell.js';
import * as servers from './pages/servers.js';
import * as catalog from './pages/catalog.js';
import * as tools from './pages/tools.js';
import * as approvals from './pages/approvals.js';
import * as activity from './pages/activity.js';
import * as connect from './pages/connect.js';
import * as profiles from './pages/profiles.js';
import * as settings from './pages/settings.js';
import * as welcome from './pages/welcome.js';
import * as importFile from './pages/import.js';

const PAGES = [
  { id: 'servers', label: 'Servers', icon: ICONS.servers, module: servers },
  { id: 'catalog', label: 'Catalog', icon: ICONS.catalog, module: catalog },
  { id: 'tools', label: 'Tools', icon: ICONS.tools, module: tools },
  { id: 'approvals', label: 'Approvals', icon: ICONS.approvals, module: approvals },
  { id: 'activity', label: 'Activity', icon: ICONS.activity, module: activity },
  { id: 'connect', label: 'Connect', icon: ICONS.connect, module: connect },
  { id: 'profiles', label: 'Profiles', icon: ICONS.profiles, module: profiles },
  { id: 'settings', label: 'Settings', icon: ICONS.settings, module: settings },
  // Not in the sidebar: the first run opens on it (see start()).
  { id: 'welcome', label: 'Welcome', module: welcome, hidden: true },
  // Not in the sidebar: the desktop app opens it on a file handed to it.
  { id: 'import', label: 'Import', module: importFile, hidden: true },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const pendingBadge = h('span', { class: 'badge count', id: 'pending-count', hidden: true });
let current = null; // {id, cleanup: [fns]}

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const page = PAGES.find((p) => p.id === path) || PAGES[0];
  return { page, params: new URLSearchParams(query || '') };
}

function show() {
  const { page, params } = route();
  if (current && current.id === page.id && current.key === location.hash) return;
  if (current) current.cleanup.forEach((fn) => fn());
  const cleanup = [];
  const ctx = {
    params,
    /** Gets gateway events while this page is shown. */
    on: (fn) => cleanup.push(listen(fn)),
    /** Runs `fn` every `ms` while this page is shown. */
    every: (fn, ms) => { const t = setInterval(fn, ms); cleanup.push(() => clearInterval(t)); },
    go: (hash) => { location.hash = hash; },
    toast,
    fail,
    refreshBadges,
  };
  current = { id: page.id, key: location.hash, cleanup };
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === page.id);
  document.title = `${page.label} · Portcullis`;
  fill(main);
  const dispose = page.module.mount(main, ctx);
  if (typeof dispose === 'function') cleanup.push(dispose);
}

/** The count of servers and tools waiting for a person, on the Approvals link. */
async function refreshBadges() {
  try {
    const [pending, list] = await Promise.all([api.pending(), api.servers()]);
    const n = pending.length + list.filter((s) => s.state === 'pending').length;
    pendingBadge.hidden = n === 0;
    pendingBadge.textContent = String(n);
    pendingBadge.title = `${n} waiting for your approval`;
  } catch (e) {
    /* shown where it matters */
  }
}

function buildNav() {
  for (const p of PAGES.filter((page) => !page.hidden)) {
    nav.appendChild(h('a', { href: `#/${p.id}`, dataset: { page: p.id } }, icon(p.icon), h('span', { text: p.label }), p.id === 'approvals' ? pendingBadge : null));
  }
  const dot = document.getElementById('live-dot');
  const text = document.getElementById('live-text');
  listenStatus((s) => {
    dot.className = `dot ${s}`;
    text.textContent = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[s] || s;
  });
  document.getElementById('live-addr').textContent = new URL(apiBase).host;
}

async function start() {
  buildNav();
  await authenticate();
  startEvents();
  const badges = throttle(refreshBadges, 400);
  listen(badges);
  refreshBadges();
  window.addEventListener('hashchange', show);
  // The desktop app's first run: no server configured and no page asked
  // for: the window opens on the welcome page (#/welcome in a browser).
  if (embedded && !location.hash) {
    const list = await api.servers().catch(() => null);
    if (list && list.length === 0) location.replace('#/welcome');
  }
  show();
}

start().catch(fail);
