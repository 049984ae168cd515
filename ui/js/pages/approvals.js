// Approvals: servers that wait to start, and new or changed tools that wait to
// be callable, with everything needed to decide: description, argument
// signature, the scanner's findings and, for a changed tool, what changed.
// The desktop app's approval popup (popup.html) shows this same view.
// `?server=NAME` (#/approvals?server=NAME, popup.html?server=NAME, what a
// portcullis://approve?server=NAME link opens) shows that server's alone.

import { api } from '../api.js';
import { h, fill, icon, ICONS, badge, busy, confirmButton } from '../dom.js';
import { ago, plural } from '../format.js';
import { act as runAction, throttle } from '../shell.js';
import { description, diffView, findingsList, highRules, worstRank } from '../tooldef.js';

const RELOAD_ON = new Set(['tools_pending', 'tools_modified', 'tools_changed', 'pending_redefined', 'items_pending', 'server_state_changed', 'config_reloaded']);

// What each kind of item is, for the person deciding.
const KIND_LABEL = {
  instructions: 'Instructions to the model',
  prompt: 'Prompt',
  resource: 'Resource',
  resource_template: 'Resource template',
};

export function mount(root, ctx) {
  const compact = Boolean(ctx.compact);
  const only = ctx.params.get('server');
  const body = h('div', { class: 'approvals' });
  if (!compact) {
    root.appendChild(h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Approvals' }),
      h('p', { text: 'New servers, new or changed tools, and everything else a server says to the model (its instructions, prompts, resources and resource templates) wait here until you decide. Until then agents see none of it: not names, descriptions, arguments or instructions, and they cannot call or read it. Approving approves exactly the definition shown here; if the server changes it before you click, nothing is approved and the new one is shown instead. For long resource lists, approve the resource template: resources it covers are then listed by their address only and may be read.' }))));
  }
  root.appendChild(body);
  // Tools whose definition changed while this page showed them: their cards say so.
  const redefined = new Set();

  async function reload() {
    try {
      const [servers, pending, items] = await Promise.all([api.servers(), api.pending(), api.pendingItems()]);
      const mine = (server) => !only || server === only;
      render(servers.filter((s) => s.state === 'pending' && mine(s.name)), pending.filter((t) => mine(t.server)), items.filter((i) => mine(i.server)));
    } catch (e) {
      ctx.fail(e);
    }
  }

  async function act(btn, what, done) {
    await busy(btn, async () => {
      const ok = await runAction(ctx, async () => {
        try {
          await what();
        } catch (e) {
          for (const t of (e && e.changed) || []) redefined.add(`${t.server}/${t.name}`);
          throw e;
        }
      }, done);
      if (ok || redefined.size) await reload();
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

  // An Approve button. With high-severity findings the first click only asks,
  // naming them; the second approves with `confirm_high`, which the gateway
  // requires for them.
  function approveButton(label, high, send, done) {
    if (high.length === 0) {
      const btn = h('button', { class: 'btn primary small', type: 'button', text: label });
      btn.addEventListener('click', () => act(btn, () => send({}), done));
      return btn;
    }
    const btn = confirmButton(label, `Approve despite ${high.join(', ')}? Click again`,
      () => act(btn, () => send({ confirm_high: true }), done), 'btn primary small');
    btn.dataset.high = high.join(' ');
    btn.title = `High-severity: ${high.join(', ')}. Read the findings; approving takes a second click.`;
    return btn;
  }

  function toolReview(t) {
    const key = `${t.server}/${t.name}`;
    // The hash of the definition on this card: the gateway approves that and nothing else.
    const approve = approveButton('Approve', highRules(t.findings),
      (extra) => api.approve(t.server, { tools: [{ name: t.name, hash: t.hash }], ...extra }),
      `${t.name} is approved: agents can call it now.`);
    const block = h('button', { class: 'btn danger small', type: 'button', text: 'Block' });
    block.addEventListener('click', () => act(block, () => api.block(t.server, { tools: [t.name] }), `${t.name} is blocked.`));
    const changed = t.state === 'changed';
    const moved = redefined.has(key);
    return h('article', { class: 'review', dataset: { tool: key, hash: t.hash }, 'aria-label': key },
      moved ? h('div', { class: 'alert warn', role: 'alert', dataset: { redefined: key }, text: 'This definition changed while you were looking at it. What is shown now is the new one: read it again before you decide.' }) : null,
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

  function itemReview(i) {
    const key = `${i.server}/${i.kind}/${i.name}`;
    const ref = { kind: i.kind, name: i.name };
    const approve = approveButton('Approve', highRules(i.findings),
      (extra) => api.approve(i.server, { items: [{ ...ref, hash: i.hash }], ...extra }),
      `${KIND_LABEL[i.kind] || i.kind} of ${i.server} approved.`);
    const block = h('button', { class: 'btn danger small', type: 'button', text: 'Block' });
    block.addEventListener('click', () => act(block, () => api.block(i.server, { items: [ref] }), `${KIND_LABEL[i.kind] || i.kind} of ${i.server} blocked.`));
    const d = i.definition || {};
    const text = i.kind === 'instructions' ? d.instructions : d.description;
    const args = Array.isArray(d.arguments) ? d.arguments.map((a) => `${a.name}${a.required ? '' : '?'}`).join(', ') : null;
    return h('article', { class: 'review', dataset: { item: key, hash: i.hash }, 'aria-label': key },
      h('div', { class: 'head' },
        h('span', { class: 'chip', text: KIND_LABEL[i.kind] || i.kind }),
        i.kind === 'instructions' ? null : h('span', { class: 'tname', text: i.name }),
        i.state === 'changed' ? badge('changed', 'changed since approved') : badge('new', 'new'),
        i.findings.length ? h('span', { class: `badge s-${i.findings[0].severity}`, text: plural(i.findings.length, 'finding') }) : null),
      description(text),
      args !== null ? h('div', { class: 'sig', text: `Arguments: ${args || '()'}` }) : null,
      d.uri || d.uriTemplate ? h('div', { class: 'sig', text: d.uri || d.uriTemplate }) : null,
      findingsList(i.findings),
      i.state === 'changed' && i.approved ? diffView(i.approved, i.definition) : null,
      h('div', { class: 'actions' }, approve, block));
  }

  function itemGroup(server, items) {
    return h('section', { class: 'card', dataset: { items: server }, 'aria-label': `What ${server} says to the model` },
      h('div', { class: 'group-head' },
        h('h2', { text: `${server}: instructions, prompts and resources` }),
        h('span', { class: 'muted small', text: `${plural(items.length, 'item')} waiting` })),
      items.map(itemReview));
  }

  function toolGroup(server, tools) {
    const shown = tools.map((t) => ({ name: t.name, hash: t.hash }));
    const high = [...new Set(tools.flatMap((t) => highRules(t.findings)))];
    const all = approveButton(tools.length === 1 ? `Approve it` : `Approve all ${tools.length} from ${server}`, high,
      (extra) => api.approve(server, { tools: shown, ...extra }),
      `${plural(shown.length, 'tool')} of ${server} approved.`);
    all.classList.remove('primary');
    return h('section', { class: 'card', dataset: { group: server }, 'aria-label': `Tools of ${server}` },
      h('div', { class: 'group-head' },
        h('h2', { text: server }),
        h('span', { class: 'muted small', text: `${plural(tools.length, 'tool')} waiting` }),
        h('span', { class: 'grow' }),
        tools.length > 1 ? all : null),
      tools.map(toolReview));
  }

  // Shown above the list when it holds one server's items: the way back to all.
  function scope() {
    if (!only) return null;
    const all = h('a', { href: compact ? 'popup.html' : '#/approvals', id: 'approvals-all', text: 'Show everything that waits' });
    return h('p', { class: 'muted', id: 'approvals-scope', dataset: { server: only } }, `Showing what ${only} waits for. `, all);
  }

  function render(servers, pending, items = []) {
    if (servers.length === 0 && pending.length === 0 && items.length === 0) {
      fill(body, scope(), h('div', { class: 'card' }, h('div', { class: 'empty' },
        icon(ICONS.check), h('h2', { text: only ? `Nothing of ${only} waits for you` : 'Nothing waits for you' }),
        h('p', { text: 'New servers and new or changed tools show up here, and in a notification.' }))));
      return;
    }
    // Most severe first: tools and items with high-severity findings lead
    // their group, and groups holding them lead the page (stable otherwise).
    const bySeverity = (a, b) => worstRank(b.findings) - worstRank(a.findings);
    pending = [...pending].sort(bySeverity);
    items = [...items].sort(bySeverity);
    const groups = new Map();
    for (const t of pending) {
      if (!groups.has(t.server)) groups.set(t.server, []);
      groups.get(t.server).push(t);
    }
    const itemGroups = new Map();
    for (const i of items) {
      if (!itemGroups.has(i.server)) itemGroups.set(i.server, []);
      itemGroups.get(i.server).push(i);
    }
    fill(body,
      scope(),
      servers.length ? serverCard(servers) : null,
      [...groups].map(([server, tools]) => toolGroup(server, tools)),
      [...itemGroups].map(([server, list]) => itemGroup(server, list)));
  }

  const later = throttle(() => reload(), 300);
  ctx.on((e) => {
    if (e.type === 'pending_redefined') for (const t of e.tools || []) redefined.add(`${e.server}/${t}`);
    if (RELOAD_ON.has(e.type)) later();
  });
  reload();
}
