// Connect: the MCP endpoint, and for each client the gateway knows (Claude
// Desktop, Cursor, VS Code, Claude Code, Windsurf, Gemini CLI, LM Studio,
// Codex, Zed, Cline, Continue, opencode, Goose) the snippet to paste, in that
// client's own syntax (JSON, TOML or YAML), or a button that writes it into
// that client's config (keeping a backup and its comments) and an undo.

import { api } from '../api.js';
import { h, fill, icon, ICONS, badge, busy } from '../dom.js';
import { ago, prettyJson } from '../format.js';
import { errorBox } from '../shell.js';

const STATUS = {
  installed: 'added',
  not_installed: 'not added',
  no_file: 'no config file yet',
  different: 'has another Portcullis entry',
  unreadable: 'config Portcullis cannot read',
};

async function copy(text, btn, ctx) {
  try {
    await navigator.clipboard.writeText(text);
    const old = btn.lastChild.textContent;
    btn.lastChild.textContent = 'Copied';
    setTimeout(() => { btn.lastChild.textContent = old; }, 1500);
  } catch (e) {
    ctx.toast('The browser did not allow copying: select the text and copy it by hand.', { error: true });
  }
}

function copyButton(text, ctx) {
  const b = h('button', { class: 'btn small copy', type: 'button', 'aria-label': 'Copy' }, icon(ICONS.copy), h('span', { text: 'Copy' }));
  b.addEventListener('click', () => copy(text, b, ctx));
  return b;
}

export function mount(root, ctx) {
  const body = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Connect' }),
      h('p', { text: 'Point your agents at Portcullis once; then add, remove and approve servers here.' }))),
    body);

  async function reload() {
    let data;
    let profiles = [];
    try {
      data = await api.clients();
      profiles = (await api.profiles()).profiles.map((p) => p.name);
    } catch (e) {
      fill(body, errorBox(e));
      return;
    }
    const endpoint = h('div', { class: 'card' }, h('div', { class: 'card-body stack' },
      h('h2', { text: 'MCP endpoint' }),
      h('div', { class: 'endpoint' }, h('code', { id: 'mcp-url', text: data.mcp_url }), copyButton(data.mcp_url, ctx)),
      h('p', { class: 'muted small', text: 'Agents get a few tools there to search, describe and call every approved tool. At /mcp/direct they see every approved tool by name instead.' })));
    const home = data.home ? data.home.replace(/\/+$/, '') : null;
    const short = (path) => (home && path && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path);
    const cards = data.clients.map((c) => clientCard(c, short, profiles));
    fill(body, endpoint, h('div', { class: 'clients' }, cards));
  }

  function clientCard(c, short, profiles) {
    const label = c.status === 'installed' ? 'Added' : c.status === 'different' ? `Update ${c.label}` : `Add to ${c.label}`;
    const install = h('button', { class: 'btn primary small', type: 'button', text: label, disabled: c.status === 'installed' || c.status === 'unreadable' });
    // With profiles, the client may be given one: it then sees only that profile.
    const profile = profiles.length
      ? h('select', { class: 'profile-select', 'aria-label': `Profile ${c.label} sees` },
          h('option', { value: '', text: 'Every approved tool' }),
          profiles.map((p) => h('option', { value: p, text: `Profile ${p}` })))
      : null;
    if (profile) {
      profile.addEventListener('change', () => {
        install.disabled = c.status === 'unreadable' || (c.status === 'installed' && !profile.value);
        install.textContent = profile.value ? `${c.status === 'not_installed' || c.status === 'no_file' ? 'Add to' : 'Update'} ${c.label}` : label;
      });
    }
    install.addEventListener('click', () => busy(install, async () => {
      try {
        const done = await api.installClient(c.client, profile ? profile.value : '');
        ctx.toast(done.changed ? `Added Portcullis to ${c.label}.` : `${c.label} already had this entry.`, { hint: done.backup ? `The file as it was is kept as ${short(done.backup)}.` : undefined });
      } catch (e) {
        ctx.fail(e);
      }
      await reload();
    }));
    const undo = c.undo ? h('button', { class: 'btn small', type: 'button', text: 'Undo' }) : null;
    if (undo) {
      undo.addEventListener('click', () => busy(undo, async () => {
        try {
          const done = await api.undoClient(c.client);
          ctx.toast(done.restored_from ? `Restored the ${c.label} config from its backup.` : `Removed the config file Portcullis had created for ${c.label}.`);
        } catch (e) {
          ctx.fail(e);
        }
        await reload();
      }));
    }
    let snippet = c.snippet.replace(/\n$/, '');
    if (c.syntax === 'JSON') {
      try { snippet = prettyJson(JSON.parse(c.snippet)); } catch (e) { /* show it as the gateway wrote it */ }
    }
    const undoNote = c.undo
      ? h('div', { class: 'muted small' }, `Written ${ago(c.undo.installed_at)}. `, c.undo.backup ? ['Backup: ', h('code', { text: short(c.undo.backup) })] : 'There was no file before.')
      : null;
    return h('section', { class: 'card client', dataset: { client: c.client }, 'aria-label': c.label },
      h('div', { class: 'card-body' },
        h('div', { class: 'info' },
          h('div', { class: 'row' }, h('h2', { class: 'grow', text: c.label }), badge(c.status, STATUS[c.status] || c.status)),
          h('div', { class: 'path', title: c.path, text: `${short(c.path)} (${c.syntax})` }),
          h('p', { class: 'muted small', text: c.note }),
          undoNote,
          h('div', { class: 'actions' }, profile, install, undo)),
        h('div', { class: 'snippet' }, h('pre', { text: snippet }), copyButton(snippet, ctx))));
  }

  reload();
}
