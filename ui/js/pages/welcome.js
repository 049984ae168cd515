// Welcome: what the window opens on while no server is configured. It finds
// the MCP configs of the clients installed here (every client of the Connect
// page: Claude Desktop, Cursor, VS Code, Claude Code, Codex, Zed…), offers to bring their servers over (they start, and their tools wait
// for approval) and to point each client at Portcullis, with a backup and an
// undo as on the Connect page.

import { api } from '../api.js';
import { h, fill, busy } from '../dom.js';
import { errorBox } from '../shell.js';

export function mount(root, ctx) {
  const body = h('div', { class: 'stack' });
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Welcome to Portcullis' }),
      h('p', { text: 'Portcullis stands between your agents and their MCP servers: one address for every agent, and no tool reaches them before you approve it.' }))),
    body);

  async function load() {
    let setups;
    try {
      setups = await api.clients();
    } catch (e) {
      fill(body, errorBox(e));
      return;
    }
    const found = setups.clients.filter((c) => c.status !== 'no_file');
    const servers = await Promise.all(found.map((c) => api.clientServers(c.client).catch((e) => ({ error: e }))));
    const home = setups.home ? setups.home.replace(/\/+$/, '') : null;
    const short = (path) => (home && path && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path);
    const cards = found.map((c, i) => clientCard(c, servers[i], short));
    fill(body,
      cards.length
        ? h('p', { text: `Found the MCP configs of ${found.map((c) => c.label).join(', ')} on this computer.` })
        : h('p', { class: 'muted', id: 'welcome-none', text: 'No MCP client config found here (Claude Desktop, Cursor, VS Code, Claude Code, Codex, Zed, Cline, Continue, opencode, Goose and others). Add a server on the Servers page, or paste a client\u2019s mcpServers JSON there.' }),
      h('div', { class: 'clients' }, cards),
      h('div', { class: 'actions' },
        h('a', { class: 'btn', href: '#/servers', id: 'welcome-skip', text: 'Go to Servers' }),
        h('a', { class: 'btn', href: '#/connect', text: 'Connect other agents' })));
  }

  function clientCard(c, servers, short) {
    const list = Array.isArray(servers) ? servers : [];
    const importBtn = h('button', { class: 'btn primary small', type: 'button', text: list.length ? `Import ${list.length} server${list.length === 1 ? '' : 's'}` : 'No servers to import', disabled: !list.length });
    importBtn.addEventListener('click', () => busy(importBtn, async () => {
      try {
        const done = await api.importClient(c.client);
        const skipped = done.skipped.length ? ` (${done.skipped.join(', ')} already there)` : '';
        ctx.toast(`Imported ${done.added.length} server${done.added.length === 1 ? '' : 's'} from ${c.label}${skipped}.`, { hint: 'Their tools wait for your approval on the Approvals page.' });
        ctx.refreshBadges();
      } catch (e) {
        ctx.fail(e);
      }
      await load();
    }));
    const pointLabel = c.status === 'installed' ? `${c.label} uses Portcullis` : `Point ${c.label} at Portcullis`;
    const point = h('button', { class: 'btn small', type: 'button', text: pointLabel, disabled: c.status === 'installed' || c.status === 'unreadable' });
    point.addEventListener('click', () => busy(point, async () => {
      try {
        const done = await api.installClient(c.client);
        ctx.toast(`${c.label} now connects through Portcullis.`, { hint: done.backup ? `The file as it was is kept as ${short(done.backup)}.` : undefined });
      } catch (e) {
        ctx.fail(e);
      }
      await load();
    }));
    const undo = c.undo ? h('button', { class: 'btn small', type: 'button', text: 'Undo' }) : null;
    if (undo) {
      undo.addEventListener('click', () => busy(undo, async () => {
        try {
          await api.undoClient(c.client);
          ctx.toast(`Restored the ${c.label} config.`);
        } catch (e) {
          ctx.fail(e);
        }
        await load();
      }));
    }
    const rows = servers && servers.error
      ? errorBox(servers.error)
      : h('ul', { class: 'plain' }, list.map((s) => h('li', { dataset: { server: s.name } }, h('strong', { text: s.name }), ' ', h('code', { class: 'muted small', text: s.runs }))));
    return h('section', { class: 'card client', dataset: { client: c.client }, 'aria-label': c.label },
      h('div', { class: 'card-body stack' },
        h('h2', { text: c.label }),
        h('div', { class: 'path', title: c.path, text: short(c.path) }),
        rows,
        h('div', { class: 'actions' }, importBtn, point, undo)));
  }

  load();
}
