// Servers: each upstream's state, tool count and last error (with the tail of
// its stderr), enable/disable/remove, and adding a server from a form or a
// pasted `mcpServers` snippet (or from the registry on the Catalog page). A
// server whose tools wait for approval says how many, with a link to them.

import { api } from '../api.js';
import { h, fill, icon, ICONS, badge, busy, confirmButton } from '../dom.js';
import { plural } from '../format.js';
import { act as runAction, errorBox, throttle } from '../shell.js';

const STATE_TEXT = {
  ready: 'ready',
  starting: 'starting',
  backoff: 'failing, retrying',
  disabled: 'disabled',
  stopped: 'stopped',
  restarting: 'restarting with new settings',
  pending: 'waiting for approval',
  blocked: 'blocked',
  'needs-sign-in': 'needs sign-in',
  idle: 'idle: starts on the first call',
};

/** Lines `KEY=value` (env) or `Name: value` (headers) as an object; throws on a bad line. */
function pairs(text, sep, what) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.indexOf(sep);
    if (at <= 0) throw new Error(`${what}: write each line as NAME${sep === '=' ? '=' : ': '}value (“${line}” is not).`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function addPanel(ctx, onDone) {
  let mode = 'form';
  let kind = 'command';
  const err = h('div');
  const field = (id, label, input, help) => h('div', { class: 'field', dataset: { field: id } }, h('label', { for: `add-${id}`, text: label }), input, help ? h('div', { class: 'help', text: help }) : null);
  const input = (id, placeholder, type = 'text') => h('input', { id: `add-${id}`, name: id, type, placeholder, autocomplete: 'off', spellcheck: 'false' });
  const name = input('name', 'e.g. github');
  const command = input('command', 'e.g. npx');
  const args = input('args', 'e.g. -y @modelcontextprotocol/server-github');
  const env = h('textarea', { id: 'add-env', name: 'env', rows: 2, placeholder: 'GITHUB_PERSONAL_ACCESS_TOKEN=ghp_…' });
  const cwd = input('cwd', 'optional');
  const url = input('url', 'e.g. https://mcp.example.com/mcp');
  const transport = h('select', { id: 'add-transport', name: 'transport' },
    h('option', { value: 'auto', text: 'auto (streamable HTTP, else SSE)' }),
    h('option', { value: 'streamable-http', text: 'streamable HTTP' }),
    h('option', { value: 'sse', text: 'SSE (legacy)' }));
  const headers = h('textarea', { id: 'add-headers', name: 'headers', rows: 2, placeholder: 'Authorization: Bearer …' });
  const timeout = input('timeout', '60', 'number');
  timeout.min = '0';
  timeout.step = 'any';
  const snippet = h('textarea', { id: 'add-snippet', name: 'snippet', rows: 9, placeholder: '{\n  "mcpServers": {\n    "time": { "command": "uvx", "args": ["mcp-server-time"] }\n  }\n}' });

  // Isolation: the command in the sandbox (Linux namespaces, Landlock, seccomp; no Docker)
  // or in a hardened Docker container (no network, read-only root, limits); one or the other.
  const sandbox = h('input', { id: 'add-sandbox', name: 'sandbox', type: 'checkbox' });
  const docker = h('input', { id: 'add-docker', name: 'docker', type: 'checkbox' });
  const network = h('input', { id: 'add-network', name: 'network', type: 'checkbox' });
  const image = input('image', 'chosen from the command (node, python, uv)');
  const memory = input('memory', '512m');
  const mounts = h('textarea', { id: 'add-mounts', name: 'mounts', rows: 2, placeholder: '/home/me/notes:/data' });
  const allowHosts = h('textarea', { id: 'add-allow-hosts', name: 'allow_hosts', rows: 2, placeholder: 'api.github.com\n*.slack.com:443', spellcheck: 'false' });
  const check = (id, box, label, help) => h('div', { class: 'field check', dataset: { field: id } }, h('label', { for: `add-${id}` }, box, ` ${label}`), help ? h('div', { class: 'help', text: help }) : null);
  const imageField = field('image', 'Image', image);
  const mountsHelp = h('div', { class: 'help' });
  const containerFields = h('div', { hidden: true },
    h('div', { class: 'grid-2' }, check('network', network, 'Allow network access', 'Off: it cannot reach any host but the allowed ones.'), imageField),
    field('allow-hosts', 'Allowed hosts', allowHosts, 'One host[:port] per line (port 443 unless given; *.example.com for every name below it). It reaches only these, through the gateway’s proxy; refusals show in the activity log.'),
    h('div', { class: 'grid-2' }, h('div', { class: 'field', dataset: { field: 'mounts' } }, h('label', { for: 'add-mounts', text: 'Shared folders' }), mounts, mountsHelp), field('memory', 'Memory limit', memory)));
  const isolationChanged = (box) => {
    if (box.checked) (box === docker ? sandbox : docker).checked = false;
    containerFields.hidden = !docker.checked && !sandbox.checked;
    imageField.hidden = !docker.checked;
    mounts.placeholder = docker.checked ? '/home/me/notes:/data' : '/home/me/notes';
    mountsHelp.textContent = docker.checked
      ? 'One host:container per line, read-only; add :rw to allow writes.'
      : 'One folder per line, seen where it is, read-only; add :rw to allow writes.';
  };
  docker.addEventListener('change', () => isolationChanged(docker));
  sandbox.addEventListener('change', () => isolationChanged(sandbox));
  const commandFields = h('div', {},
    h('div', { class: 'grid-2' }, field('command', 'Command', command), field('args', 'Arguments', args, 'Split like a shell does; quote an argument that has spaces.')),
    h('div', { class: 'grid-2' }, field('env', 'Environment', env, 'One NAME=value per line. Keys and tokens go to the OS keyring, not the config file.'), field('cwd', 'Working folder', cwd)),
    check('sandbox', sandbox, 'Run in the sandbox (Linux, no Docker)', 'No network but the hosts you allow, no files of yours but the folders you share, no privileges, a filter on dangerous system calls.'),
    check('docker', docker, 'Run in a Docker container', 'No network but the hosts you allow, a read-only root, memory and CPU limits, only the folders you share.'),
    containerFields);
  const urlFields = h('div', { hidden: true },
    h('div', { class: 'grid-2' }, field('url', 'URL', url), field('transport', 'Transport', transport)),
    field('headers', 'Headers', headers, 'One “Name: value” per line. Keys and tokens go to the OS keyring, not the config file.'));
  const kinds = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Kind of server' });
  for (const [k, label] of [['command', 'Program (stdio)'], ['url', 'URL (HTTP)']]) {
    const b = h('button', { type: 'button', class: k === kind ? 'on' : '', text: label, dataset: { kind: k } });
    b.addEventListener('click', () => {
      kind = k;
      for (const o of kinds.children) o.classList.toggle('on', o.dataset.kind === k);
      commandFields.hidden = k !== 'command';
      urlFields.hidden = k !== 'url';
    });
    kinds.appendChild(b);
  }
  const form = h('div', {},
    h('div', { class: 'grid-2' }, field('name', 'Name', name, 'Tools are named <name>__<tool>. Letters, digits, - and _.'), h('div', { class: 'field' }, h('label', { text: 'Kind' }), kinds)),
    commandFields, urlFields,
    h('div', { class: 'grid-2' }, field('timeout', 'Timeout per call (seconds)', timeout), h('div')));
  const paste = h('div', { hidden: true },
    field('snippet', 'mcpServers JSON', snippet, 'From Claude Desktop, Cursor (mcpServers) or VS Code (servers). Servers whose name exists are skipped.'));

  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  for (const [m, label] of [['form', 'Form'], ['paste', 'Paste JSON']]) {
    const b = h('button', { type: 'button', role: 'tab', class: m === mode ? 'on' : '', text: label, dataset: { mode: m } });
    b.addEventListener('click', () => {
      mode = m;
      for (const o of tabs.children) o.classList.toggle('on', o.dataset.mode === m);
      form.hidden = m !== 'form';
      paste.hidden = m !== 'paste';
      fill(err);
    });
    tabs.appendChild(b);
  }

  const submit = h('button', { class: 'btn primary', type: 'submit', text: 'Add server' });
  const cancel = h('button', { class: 'btn', type: 'button', text: 'Cancel' });
  const panel = h('form', { class: 'card add-panel', 'aria-label': 'Add a server', novalidate: true },
    h('div', { class: 'card-body' },
      h('div', { class: 'row', }, h('h2', { class: 'grow', text: 'Add a server' })),
      h('p', { class: 'muted small', text: 'A server you add here starts at once so that its tools can be seen; each tool waits for your approval before agents can use it.' }),
      tabs, form, paste, err,
      h('div', { class: 'form-actions' }, submit, cancel)));

  function body() {
    if (mode === 'paste') {
      if (!snippet.value.trim()) throw new Error('Paste a JSON snippet with mcpServers (or servers).');
      return { snippet: snippet.value };
    }
    const out = { name: name.value.trim() };
    if (kind === 'command') {
      Object.assign(out, { command: command.value.trim(), args: args.value, env: pairs(env.value, '=', 'Environment'), cwd: cwd.value.trim() || undefined });
      if (docker.checked || sandbox.checked) {
        const shared = mounts.value.split('\n').map((l) => l.trim()).filter(Boolean);
        const hosts = allowHosts.value.split('\n').map((l) => l.trim()).filter(Boolean);
        Object.assign(out, { isolation: docker.checked ? 'docker' : 'sandbox', network: network.checked || undefined, allow_hosts: hosts.length ? hosts : undefined, memory: memory.value.trim() || undefined, mounts: shared.length ? shared : undefined });
        if (docker.checked) out.image = image.value.trim() || undefined;
      }
    } else {
      Object.assign(out, { url: url.value.trim(), transport: transport.value, headers: pairs(headers.value, ':', 'Headers') });
    }
    if (timeout.value.trim()) out.timeout = Number(timeout.value);
    return out;
  }

  panel.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(err);
    let request;
    try {
      request = body();
    } catch (e) {
      fill(err, errorBox(e));
      return;
    }
    await busy(submit, async () => {
      try {
        const done = await api.addServer(request);
        const added = done.added || [];
        let msg = added.length ? `Added ${added.join(', ')}: starting now. Its tools wait for your approval.` : 'No server added.';
        if (done.skipped && done.skipped.length) msg += ` Skipped (name exists): ${done.skipped.join(', ')}.`;
        const moved = done.moved || [];
        if (moved.length) {
          const where = moved.every((m) => m.backend === 'keyring') ? 'the OS keyring' : 'the encrypted secrets file';
          msg += ` Kept ${moved.map((m) => m.key).join(', ')} in ${where}; the config names ${moved.length === 1 ? 'it' : 'them'} as a secret.`;
        }
        ctx.toast(msg, { hint: (done.warnings || []).join(' ') || undefined });
        onDone(true);
      } catch (e) {
        fill(err, errorBox(e));
      }
    });
  });
  cancel.addEventListener('click', () => onDone(false));
  setTimeout(() => name.focus(), 0);
  return panel;
}

function serverRow(s, waiting, ctx, reload) {
  const act = (btn, what, done) => busy(btn, async () => {
    await runAction(ctx, what, done);
    await reload();
  });
  const button = (label, cls, what, done) => {
    const b = h('button', { class: cls, type: 'button', text: label });
    b.addEventListener('click', () => act(b, what, done));
    return b;
  };
  const actions = [];
  if (s.sign_in_url) {
    // The authorization server sends the browser back to the gateway, which finishes the sign-in.
    actions.push(h('a', { class: 'btn primary small', href: s.sign_in_url, target: '_blank', rel: 'noopener noreferrer', text: 'Sign in' }));
  } else if (s.state === 'backoff' && /sign-in|sign in/.test(s.last_error || '')) {
    actions.push(button('Sign in again', 'btn small', () => api.login(s.name), `Signing in to ${s.name}: use the Sign in button.`));
  }
  if (s.state === 'pending') {
    actions.push(button('Approve', 'btn primary small', () => api.approve(s.name), `${s.name} is approved and starting.`));
    actions.push(button('Block', 'btn danger small', () => api.block(s.name), `${s.name} is blocked.`));
  } else if (s.state === 'blocked') {
    actions.push(button('Unblock', 'btn small', () => api.approve(s.name), `${s.name} is approved again and starting.`));
  } else if (s.state === 'disabled') {
    actions.push(button('Enable', 'btn small', () => api.enableServer(s.name), `${s.name} is enabled.`));
  } else {
    actions.push(button('Disable', 'btn small', () => api.disableServer(s.name), `${s.name} is disabled: stopped until you enable it.`));
  }
  actions.push(confirmButton('Remove', 'Remove?', async () => {
    try {
      await api.removeServer(s.name);
      ctx.toast(`${s.name} is removed from the config.`);
    } catch (e) {
      ctx.fail(e);
    }
    await reload();
  }, 'btn ghost small'));

  const meta = [];
  if (s.state === 'ready' || s.tools) meta.push(h('a', { href: `#/tools?server=${encodeURIComponent(s.name)}`, text: plural(s.tools, 'tool') }));
  if (waiting) meta.push(h('a', { class: 'waiting', href: '#/approvals', text: `${plural(waiting, 'tool')} ${waiting === 1 ? 'waits' : 'wait'} for your approval` }));
  if (s.protocol_version) meta.push(h('span', { text: `MCP ${s.protocol_version}` }));
  if (s.pid) meta.push(h('span', { text: `pid ${s.pid}` }));
  if (s.calls && s.calls.per_minute) meta.push(h('span', { class: 'calls', text: `${s.calls.per_minute} calls/min, p50 ${s.calls.p50_ms} ms`, title: 'Tool calls that ended in the last minute, and their median duration' }));
  if (s.load) meta.push(h('span', { text: `${s.load.running} running, ${s.load.waiting} waiting` }));
  if (s.restarts) meta.push(h('span', { text: `restarted ${plural(s.restarts, 'time')}`, title: s.restart_reason ? `last time: ${s.restart_reason}` : null }));

  let note = null;
  if (s.state === 'pending') note = h('div', { class: 'note alert warn' }, 'It appeared in the config file without going through Portcullis, so it waits for your approval before it starts.');
  if (s.state === 'needs-sign-in') note = h('div', { class: 'note alert warn' }, 'It asks you to sign in (OAuth). Sign in opens its sign-in page; when you are done there, Portcullis finishes by itself and starts it.');
  if (s.state === 'blocked') note = h('div', { class: 'note muted small', text: 'Blocked: it stays stopped and none of its tools can be called.' });
  if (s.state === 'idle') note = h('div', { class: 'note muted small', text: 'On demand: not running. Its approved tools are listed and searchable; the first call starts it.' });

  let problem = null;
  if (s.last_error && s.state !== 'ready') {
    const tail = (s.stderr_tail || []).join('\n');
    problem = h('div', { class: 'problem' },
      h('div', { class: 'alert error' }, h('pre', { class: 'mono', text: s.last_error })),
      tail ? h('details', {}, h('summary', { text: `Last ${plural(s.stderr_tail.length, 'line')} of its stderr (full log: ${s.log})` }), h('pre', { text: tail })) : null);
  }

  return h('div', { class: 'server', dataset: { server: s.name, state: s.state } },
    h('div', { class: 'grow' },
      h('div', { class: 'row' }, h('span', { class: 'name', text: s.name }), h('span', { class: 'chip', text: s.transport })),
      s.launch ? h('div', { class: 'launch', title: s.launch, text: s.launch }) : null,
      meta.length ? h('div', { class: 'meta' }, meta) : null),
    h('div', { class: 'side' }, badge(s.state, STATE_TEXT[s.state] || s.state), actions),
    note, problem);
}

export function mount(root, ctx) {
  const addBtn = h('button', { class: 'btn primary', type: 'button' }, icon(ICONS.plus), 'Add server');
  const summary = h('p');
  const slot = h('div');
  const list = h('div');
  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' }, h('h1', { text: 'Servers' }), summary),
      h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/catalog' }, icon(ICONS.catalog), 'From the catalog'), addBtn)),
    slot, list);

  let shown = null;
  async function reload() {
    let servers;
    let pending;
    try {
      [servers, pending] = await Promise.all([api.servers(), api.pending()]);
    } catch (e) {
      shown = null;
      fill(list, errorBox(e));
      return;
    }
    const waiting = {};
    for (const t of pending) waiting[t.server] = (waiting[t.server] || 0) + 1;
    // Unchanged: leave the page alone (an open stderr, a half-confirmed removal).
    const key = JSON.stringify([servers, waiting]);
    if (key === shown) return;
    shown = key;
    const ready = servers.filter((s) => s.state === 'ready' || s.state === 'idle').length;
    const tools = servers.reduce((n, s) => n + (s.tools || 0), 0);
    summary.textContent = servers.length
      ? `${plural(servers.length, 'server')}, ${ready} ready, ${plural(tools, 'tool')} in all.`
      : 'No servers yet.';
    if (servers.length === 0) {
      fill(list, h('div', { class: 'card' }, h('div', { class: 'empty' },
        h('h2', { text: 'No servers yet' }),
        h('p', { text: 'Add one with the button above, or paste the mcpServers JSON of another client.' }))));
      return;
    }
    fill(list, h('div', { class: 'card' }, servers.map((s) => serverRow(s, waiting[s.name] || 0, ctx, reload))));
  }

  addBtn.addEventListener('click', () => {
    if (slot.firstChild) return;
    addBtn.disabled = true;
    fill(slot, addPanel(ctx, (added) => {
      fill(slot);
      addBtn.disabled = false;
      if (added) reload();
    }));
  });

  const later = throttle(reload, 250);
  ctx.on((e) => { if (e.type !== 'call_finished') later(); });
  // Restart counts and stderr tails change without an event.
  ctx.every(reload, 5000);
  reload();
}
