// Activity: tool calls, decisions and discoveries, newest first, updated live.

import { api } from '../api.js';
import { h, fill, icon, ICONS, badge } from '../dom.js';
import { clock, dateTime, duration } from '../format.js';
import { errorBox, listenStatus, throttle } from '../shell.js';

const KINDS = [['all', 'All'], ['call', 'Calls'], ['decision', 'Decisions'], ['discovery', 'Discoveries']];
const KEEP = 500;

// Who decided is the credential the decision came with: a browser uses the admin token (api).
const ACTOR = { cli: 'at the command line', window: 'in the window', popup: 'in the approval popup', tray: 'from the tray', api: 'with the admin token' };

function what(e) {
  if (e.kind === 'call') {
    const o = e.outcome || {};
    // A burst of identical calls is one row that counts them.
    const times = e.calls > 1 ? h('span', { class: 'muted', title: `${e.calls} identical calls; the time is their mean`, text: ` ×${e.calls}` }) : null;
    if (o.status === 'ok') return [badge('ok', 'ok'), times];
    if (o.status === 'blocked') return [badge('blocked', 'refused: not approved'), times];
    return [badge('error', 'error'), times, ' ', h('span', { class: 'muted', text: o.message || '' })];
  }
  if (e.kind === 'decision') {
    const by = ACTOR[e.actor] || e.actor;
    if (e.action === 'approve_tool') return [badge('approved', 'approved'), ` ${by}`];
    if (e.action === 'block_tool') return [badge('blocked', 'blocked'), ` ${by}`];
    const label = e.to === 'trusted' ? 'server approved' : e.to === 'blocked' ? 'server blocked' : `server ${e.to}`;
    return [badge(e.to === 'trusted' ? 'approved' : e.to, label), ` ${by}`];
  }
  const text = {
    server_added: e.detail === 'person' ? 'server added by a person' : 'server found in the config file',
    server_changed: 'launch changed: waits for approval again',
    tool_added: 'new tool',
    tool_changed: 'definition changed: held for review',
    tool_removed: 'no longer listed',
    tool_returned: 'listed again',
  }[e.action] || e.action;
  return [h('span', { text }), e.to && e.action !== 'tool_removed' ? [' ', badge(e.to === 'trusted' ? 'approved' : e.to)] : null];
}

function row(e, fresh) {
  const kindIcon = { call: ICONS.call, decision: ICONS.decision, discovery: ICONS.discovery }[e.kind];
  const subject = e.tool ? `${e.server}/${e.tool}` : e.server || '';
  // The client its token names is who called; the name it claims is only what it says.
  const claimed = e.kind === 'call' && e.client_name ? `${e.client_name}${e.client_version ? ` ${e.client_version}` : ''}` : '';
  const client = e.kind !== 'call' ? '' : e.client ? e.client : claimed ? `${claimed} (says)` : '';
  const clientTitle = e.client ? `token of client “${e.client}”${claimed ? `; it says it is ${claimed}` : ''}` : claimed ? 'the name the client gave; it sent no client token' : '';
  return h('tr', { class: fresh ? 'fresh' : '', dataset: { kind: e.kind, id: String(e.id) } },
    h('td', { class: 'time', title: dateTime(e.time), text: clock(e.time) }),
    h('td', { class: 'what' }, h('span', { class: 'kind' }, icon(kindIcon), { call: 'Call', decision: 'Decision', discovery: 'Discovery' }[e.kind] || e.kind)),
    h('td', { class: 'subject', text: subject }),
    h('td', {}, what(e)),
    h('td', { class: 'num', text: e.kind === 'call' ? duration(e.duration_ms) : '' }),
    h('td', { class: 'client muted small', text: client, title: clientTitle }));
}

export function mount(root, ctx) {
  let filter = 'all';
  let entries = []; // oldest first
  let lastId = null;
  let freshIds = new Set();
  const live = h('span', { class: 'badge' });
  const filters = h('div', { class: 'filters', role: 'group', 'aria-label': 'Kind' });
  for (const [k, label] of KINDS) {
    const b = h('button', { type: 'button', class: k === filter ? 'on' : '', text: label, dataset: { kind: k } });
    b.addEventListener('click', () => {
      filter = k;
      for (const o of filters.children) o.classList.toggle('on', o.dataset.kind === k);
      render();
    });
    filters.appendChild(b);
  }
  const tbody = h('tbody');
  const table = h('div', { class: 'card' }, h('table', { class: 'log', 'aria-label': 'Activity' },
    h('thead', {}, h('tr', {}, ['Time', 'What', 'Server / tool', 'Outcome', 'Took', 'Client'].map((t) => h('th', { text: t })))),
    tbody));
  const status = h('div');
  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' }, h('h1', { text: 'Activity' }), h('p', { text: 'Every tool call through the gateway, every decision, and what the gateway noticed.' })),
      h('div', { class: 'actions' }, live)),
    filters, status, table);

  const stopStatus = listenStatus((s) => {
    live.className = `badge ${s === 'live' ? 's-ready' : 's-pending'}`;
    fill(live, h('span', { class: 'dot' }), s === 'live' ? 'Live' : 'Reconnecting…');
  });

  function render() {
    const shown = entries.filter((e) => filter === 'all' || e.kind === filter).slice(-KEEP).reverse();
    if (shown.length === 0) {
      fill(tbody, h('tr', {}, h('td', { colspan: '6' }, h('div', { class: 'empty' }, h('p', { text: 'Nothing yet. Calls appear here as agents make them.' })))));
      return;
    }
    fill(tbody, shown.map((e) => row(e, freshIds.has(e.id))));
    freshIds = new Set();
  }

  async function more() {
    try {
      const got = await api.activity(lastId === null ? { limit: 200 } : { limit: 1000, after_id: lastId });
      fill(status);
      if (got.length === 0 && lastId !== null) return;
      if (lastId !== null) for (const e of got) freshIds.add(e.id);
      entries = entries.concat(got).slice(-KEEP);
      if (got.length) lastId = got[got.length - 1].id;
      else if (lastId === null) lastId = 0;
      render();
    } catch (e) {
      fill(status, errorBox(e));
    }
  }

  // The gateway writes calls in small batches (every 200 ms): look a little after the event.
  const later = throttle(more, 450);
  ctx.on(later);
  // Decisions taken elsewhere (the CLI) raise no event: look now and then too.
  ctx.every(more, 3000);
  more();
  return stopStatus;
}
