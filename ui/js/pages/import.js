// Import: the servers of a client's MCP config file that was handed to the
// desktop app (`portcullis-desktop ~/.cursor/mcp.json`, or the file opened
// with Portcullis). The app stages the file and opens this page; nothing is
// imported until the person clicks. Imported servers start, and their tools
// wait for approval. In a browser there is no staged file: the page says how
// to import one (`portcullis upstream import FILE`, or paste it on Servers).

import { desktop } from '../desktop.js';
import { h, fill, busy } from '../dom.js';
import { errorBox } from '../shell.js';

export function mount(root, ctx) {
  const body = h('div', { class: 'stack', id: 'import' });
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Import servers' }),
      h('p', { text: 'The servers of another MCP client\u2019s config file. Imported servers start at once; their tools wait for your approval before any agent sees them.' }))),
    body);

  async function load() {
    if (!desktop) {
      fill(body, h('p', { class: 'muted', text: 'Open a client\u2019s config file with the Portcullis app, run portcullis upstream import FILE, or paste its mcpServers JSON on the Servers page.' }));
      return;
    }
    let preview;
    try {
      preview = await desktop.invoke('staged_import');
    } catch (e) {
      fill(body, errorBox(e));
      return;
    }
    const list = preview.servers;
    const go = h('button', { class: 'btn primary', type: 'button', id: 'import-go', text: list.length ? `Import ${list.length} server${list.length === 1 ? '' : 's'}` : 'No servers to import', disabled: !list.length });
    const outcome = h('div', { id: 'import-outcome' });
    go.addEventListener('click', () => busy(go, async () => {
      try {
        const done = await desktop.invoke('import_staged');
        const skipped = done.skipped.length ? ` Skipped (a server of that name exists): ${done.skipped.join(', ')}.` : '';
        fill(outcome, h('p', { text: `Imported ${done.added.length ? done.added.join(', ') : 'nothing'}.${skipped}` }),
          done.warnings.map((w) => h('p', { class: 'muted', text: w })),
          h('a', { class: 'btn', href: '#/approvals', id: 'import-review', text: 'Review their tools' }));
        go.disabled = true;
        ctx.refreshBadges();
      } catch (e) {
        ctx.fail(e);
      }
    }));
    fill(body,
      h('p', {}, 'From ', h('code', { id: 'import-path', text: preview.path })),
      h('section', { class: 'card' },
        list.length
          ? h('ul', { class: 'import-list' }, list.map((s) => h('li', { dataset: { server: s.name } },
            h('strong', { text: s.name }), ' ', h('code', { class: 'muted', text: s.runs }),
            s.warnings.map((w) => h('div', { class: 'muted', text: w })))))
          : h('p', { class: 'muted', text: 'This file lists no MCP servers.' })),
      h('div', { class: 'actions' }, go, h('a', { class: 'btn', href: '#/servers', text: 'Cancel' })),
      outcome);
  }

  load();
}
