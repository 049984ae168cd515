// Approvals: servers that wait to start, and new or changed tools that wait to
// be callable, with everything needed to decide: description, argument
// signature, the scanner's findings and, for a changed tool, what changed.
// The desktop app's approval popup (popup.html) shows this same view.

import { api } from '../api.js';
import { h, fill, icon, ICONS, badge, busy } from '../dom.js';
import { ago, plural } from '../format.js';
import { act as runAction, throttle } from '../shell.js';
import { description, diffView, findingsList } from '../tooldef.js';

const RELOAD_ON = new Set(['tools_pending', 'tools_modified', 'tools_changed', 'server_state_changed', 'config_reloaded']);

export function mount(root, ctx) {
  const compact = Boolean(ctx.compact);
  const body = h('div', { class: 'approvals' });
  if (!compact) {
    root.appendChild(h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Approvals' }),
      h('p', { text: 'New servers, and new or changed tools, wait here until you decide. Until then agents can neither see nor call them.' }))));
  }
  root.appendChild(body);

  async function reload() {
    try {
      const [servers, pending] = await Promise.all([api.servers(), api.pending()]);
      render(servers.filter((s) => s.state === 'pending'), pending);
    } catch (e) {
      ctx.fail(e);
    }
  }

  async function act(btn, what, done) {
    await busy(btn, async () => {
      if (await runAction(ctx, what, done)) await reload();
    });
  }

  function serverCard(servers) {
    return h('section', { class: 'card', 'aria-label': 'Servers waiting' },
      h('div', { class: 'group-head' }, h('h2', { text: 'Servers waiting to start' }), h('span', { class: 'badge s-pending', text: plural(servers.length, 'server') })),
      servers.map((s) => {
        const approve = h('button', { class: 'btn primary small', type: 'button', text: 'Approve and start' });
        const block = h('button', { class: 'btn danger small', type: 'button', text: 'Block' });
        approve.addEventListener('click', () => act(approve, () => api.approve(s.name), `${s.name} is approved; it starts now. Its tools come here next.`));
        block.addEventListener('click', () => act(block, () => api.block(s.name), `${s.name} is blocked.`));
        return h('div', { class: 'review', dataset: { server: s.name } },
          h('div', { class: 'head' }, h('span', { class: 'tname', text: s.name }), h('span', { class: 'chip', text: s.transport })),
          s.launch ? h('div', { class: 'sig', text: s.launch }) : null,
          h('p', { class: 'muted small', text: 'It appeared in the config file without going through Portcullis, so it has not been started. Approve it if you added it.' }),
          h('div', { class: 'actions' }, approve, block));
      }));
  }

  function toolReview(t) {
    const key = `${t.server}/${t.name}`;
    const approve = h('button', { class: 'btn primary small', type: 'button', text: 'Approve' });
    const block = h('button', { class: 'btn danger small', type: 'button', text: 'Block' });
    approve.addEventListener('click', () => act(approve, () => api.approve(t.server, { tools: [t.name] }), `${t.name} is approved: agents can call it now.`));
    block.addEventListener('click', () => act(block, () => api.block(t.server, { tools: [t.name] }), `${t.name} is blocked.`));
    const changed = t.state === 'changed';
    return h('article', { class: 'review', dataset: { tool: key }, 'aria-label': key },
      h('div', { class: 'head' },
        h('span', { class: 'tname', text: t.name }),
        changed ? badge('changed', 'changed since approved') : badge('new', 'new'),
        t.findings.length ? h('span', { class: `badge s-${t.findings[0].severity}`, text: plural(t.findings.length, 'finding') }) : null,
        h('span', { class: 'grow' }),
        h('span', { class: 'faint small', text: `seen ${ago(t.first_seen)}` })),
      description(t.description),
      h('div', { class: 'sig', text: `Arguments: ${t.signature || '()'}` }),
      findingsList(t.findings),
      changed && t.approved ? diffView(t.approved, t.definition) : null,
      h('div', { class: 'actions' }, approve, block,
        compact ? null : h('a', { class: 'btn ghost small', href: `#/tools?server=${encodeURIComponent(t.server)}&tool=${encodeURIComponent(t.name)}`, text: 'Details' })));
  }

  function toolGroup(server, tools) {
    const names = tools.map((t) => t.name);
    const all = h('button', { class: 'btn small', type: 'button', text: tools.length === 1 ? `Approve it` : `Approve all ${tools.length} from ${server}` });
    all.addEventListener('click', () => act(all, () => api.approve(server, { tools: names }), `${plural(names.length, 'tool')} of ${server} approved.`));
    return h('section', { class: 'card', dataset: { group: server }, 'aria-label': `Tools of ${server}` },
      h('div', { class: 'group-head' },
        h('h2', { text: server }),
        h('span', { class: 'muted small', text: `${plural(tools.length, 'tool')} waiting` }),
        h('span', { class: 'grow' }),
        tools.length > 1 ? all : null),
      tools.map(toolReview));
  }

  function render(servers, pending) {
    if (servers.length === 0 && pending.length === 0) {
      fill(body, h('div', { class: 'card' }, h('div', { class: 'empty' },
        icon(ICONS.check), h('h2', { text: 'Nothing waits for you' }),
        h('p', { text: 'New servers and new or changed tools show up here, and in a notification.' }))));
      return;
    }
    const groups = new Map();
    for (const t of pending) {
      if (!groups.has(t.server)) groups.set(t.server, []);
      groups.get(t.server).push(t);
    }
    fill(body,
      servers.length ? serverCard(servers) : null,
      [...groups].map(([server, tools]) => toolGroup(server, tools)));
  }

  const later = throttle(() => reload(), 300);
  ctx.on((e) => { if (RELOAD_ON.has(e.type)) later(); });
  reload();
}
