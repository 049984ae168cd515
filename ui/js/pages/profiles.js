// Profiles: named views of the gateway ([profiles.NAME] in the config). Each
// offers some servers (names or globs) and, if it says so, only some of their
// tools, at /mcp/p/NAME; a client token bound to it sees it everywhere. This
// page lists them with the servers each covers and the clients bound to it,
// and adds, edits and removes them through the admin API (the config file
// keeps its comments; the gateway applies the change at once).

import { api, apiBase } from '../api.js';
import { h, fill, icon, ICONS, busy, confirmButton } from '../dom.js';
import { errorBox } from '../shell.js';

const mcpBase = `${apiBase.replace(/\/api\/v1$/, '')}/mcp`;

/** "a, b , c" or one per line → ["a", "b", "c"]. */
function patterns(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

export function mount(root, ctx) {
  const body = h('div');
  const add = h('button', { class: 'btn primary', type: 'button', id: 'profile-new' }, icon(ICONS.plus), h('span', { text: 'Add profile' }));
  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' },
        h('h1', { text: 'Profiles' }),
        h('p', { text: 'Give each client only the servers and tools its work needs. What a profile leaves out does not exist for that client.' })),
      add),
    body);
  let editing = null; // the form's card, while one is open
  let known = []; // the profiles' names

  async function reload() {
    let profiles;
    let servers;
    try {
      [profiles, servers] = await Promise.all([api.profiles(), api.servers()]);
    } catch (e) {
      fill(body, errorBox(e));
      return;
    }
    const names = servers.map((s) => s.name);
    known = profiles.profiles.map((p) => p.name);
    add.onclick = () => openForm(null, names);
    const list = profiles.profiles.length
      ? profiles.profiles.map((p) => card(p, names))
      : [h('div', { class: 'card' }, h('div', { class: 'card-body' },
          h('p', { class: 'muted', id: 'profiles-empty', text: 'No profiles yet: every client sees every approved tool. Add one to give a client less.' })))];
    fill(body, editing, h('div', { id: 'profiles' }, list));
  }

  function card(p, servers) {
    const url = `${mcpBase}/p/${p.name}`;
    const edit = h('button', { class: 'btn small', type: 'button', text: 'Edit' });
    edit.addEventListener('click', () => openForm(p, servers));
    const remove = confirmButton('Remove', 'Click again to remove', async () => {
      try {
        await api.removeProfile(p.name);
        ctx.toast(`Removed profile ${p.name}.`, { hint: p.clients.length ? `The tokens of ${p.clients.join(', ')} are refused until they get new ones.` : undefined });
      } catch (e) {
        ctx.fail(e);
      }
      await reload();
    });
    const rows = [
      h('dt', { text: 'Servers' }), h('dd', {}, p.servers.map((s) => h('span', { class: 'chip', text: s })), ' '),
      h('dt', { text: 'Tools' }), h('dd', {}, p.tools ? p.tools.map((t) => h('span', { class: 'chip', text: t })) : h('span', { class: 'muted', text: 'every approved tool of its servers' })),
      h('dt', { text: 'Covers' }), h('dd', { class: 'covers', text: p.covers.length ? p.covers.join(', ') : 'no configured server' }),
      h('dt', { text: 'Agents see' }), h('dd', { text: p.surface ? (p.surface === 'direct' ? 'every tool by name' : 'search, describe and call') : 'the default (Settings)' }),
      h('dt', { text: 'Clients' }), h('dd', { text: p.clients.length ? p.clients.join(', ') : 'none bound (any client may use the URL)' }),
    ];
    return h('div', { class: 'card profile', 'data-profile': p.name }, h('div', { class: 'card-body stack' },
      h('div', { class: 'row' }, h('h2', { text: p.name }), h('span', { class: 'grow' }), edit, remove),
      p.description ? h('p', { class: 'muted', text: p.description }) : null,
      h('div', { class: 'endpoint' }, h('code', { text: url })),
      h('dl', { class: 'kv' }, rows),
      p.unmatched.length ? h('p', { class: 'alert warn small', text: `${p.unmatched.join(', ')} match no configured server.` }) : null));
  }

  function openForm(p, servers) {
    const name = h('input', { type: 'text', id: 'profile-name', value: p ? p.name : '', spellcheck: 'false', autocomplete: 'off', disabled: Boolean(p), placeholder: 'coding' });
    const description = h('input', { type: 'text', id: 'profile-description', value: (p && p.description) || '', placeholder: 'What it is for' });
    const chosen = new Set(p ? p.servers : []);
    const boxes = servers.map((s) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'profile-server', value: s, checked: chosen.has(s) }), s));
    const others = h('input', { type: 'text', id: 'profile-server-globs', value: p ? p.servers.filter((s) => !servers.includes(s)).join(', ') : '', placeholder: 'git*, docs-?', spellcheck: 'false' });
    const tools = h('textarea', { id: 'profile-tools', rows: '3', spellcheck: 'false', placeholder: 'list_*\ngithub/create_pull_request' });
    tools.value = p && p.tools ? p.tools.join('\n') : '';
    const surface = h('select', { id: 'profile-surface' },
      h('option', { value: '', text: 'The default (Settings)', selected: !p || !p.surface }),
      h('option', { value: 'direct', text: 'Direct: every tool of the profile by name', selected: p && p.surface === 'direct' }),
      h('option', { value: 'search', text: 'Search: search, describe and call', selected: p && p.surface === 'search' }));
    const save = h('button', { class: 'btn primary', type: 'submit', id: 'profile-save', text: 'Save' });
    const cancel = h('button', { class: 'btn', type: 'button', text: 'Cancel' });
    cancel.addEventListener('click', () => { editing = null; reload(); });
    const form = h('form', { class: 'card add-panel', id: 'profile-form', novalidate: true }, h('div', { class: 'card-body stack' },
      h('h2', { text: p ? `Edit ${p.name}` : 'New profile' }),
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'profile-name', text: 'Name' }), name,
          h('div', { class: 'help', text: 'Letters, digits, _ and -; the profile is served at /mcp/p/NAME.' })),
        h('div', { class: 'field' }, h('label', { for: 'profile-description', text: 'Description' }), description)),
      h('div', { class: 'field' }, h('span', { class: 'label', text: 'Servers' }),
        boxes.length ? h('div', { class: 'row' }, boxes) : h('p', { class: 'muted small', text: 'No servers are configured yet.' }),
        others, h('div', { class: 'help', text: 'More servers by name or glob (* any characters, ? one), comma-separated.' })),
      h('div', { class: 'field' }, h('label', { for: 'profile-tools', text: 'Only these tools (optional)' }), tools,
        h('div', { class: 'help', text: 'Globs over the names servers give their tools (list_*), or server/glob for one server; one per line. Empty: every approved tool of its servers.' })),
      h('div', { class: 'field' }, h('label', { for: 'profile-surface', text: 'What agents see' }), surface),
      h('div', { class: 'actions' }, save, cancel)));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const picked = boxes.map((l) => l.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
      const profile = {
        description: description.value.trim() || null,
        servers: [...picked, ...patterns(others.value)],
        tools: patterns(tools.value).length ? patterns(tools.value) : null,
        surface: surface.value || null,
      };
      const target = p ? p.name : name.value.trim();
      if (!p && known.includes(target)) {
        ctx.toast(`A profile named ${target} exists already.`, { hint: 'Edit it from its card, or choose another name.', error: true });
        return;
      }
      busy(save, async () => {
        try {
          await api.saveProfile(target, profile);
          ctx.toast(`Saved profile ${target}.`, { hint: `Clients reach it at ${mcpBase}/p/${target}.` });
          editing = null;
          await reload();
        } catch (e) {
          ctx.fail(e);
        }
      });
    });
    editing = form;
    fill(body, form, ...body.querySelectorAll('#profiles'));
    name.focus();
  }

  reload();
}
