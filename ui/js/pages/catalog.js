// Catalog: servers of the MCP registry (`[registry] url`, the official one by
// default), searched by name or description; a server's description, version,
// packages (npm, PyPI, OCI…) and remotes with the values each takes; and a form
// that adds it through the same path as `portcullis registry add`. What is
// added lands in quarantine like any added server: its tools wait for approval.
// Values the server.json marks secret are stored as secrets by the gateway; the
// config only names them.

import { api } from '../api.js';
import { h, fill, busy } from '../dom.js';
import { firstLine, plural } from '../format.js';
import { errorBox } from '../shell.js';

const OFFICIAL = 'io.modelcontextprotocol.registry/official';

// What a person reads for each package registry; unknown ones show as named.
const KIND_LABEL = { npm: 'npm', pypi: 'PyPI', oci: 'OCI', nuget: 'NuGet', mcpb: 'MCPB' };

const PLACE_LABEL = {
  env: 'environment variable',
  header: 'HTTP header',
  argument: 'argument',
  variable: 'URL or value variable',
};

/** The local name the gateway derives from a registry name (see `derive_name` in core/src/registry/install.rs). */
export function localName(registryName) {
  const tail = String(registryName).split('/').pop();
  const name = tail.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return name || 'server';
}

function official(entry) {
  return (entry && entry._meta && entry._meta[OFFICIAL]) || {};
}

/** One badge per kind of thing a server offers: npm, PyPI, OCI, remote. */
function offerBadges(server) {
  const seen = new Set();
  const out = [];
  for (const p of server.packages || []) {
    const kind = String(p.registryType || '').toLowerCase();
    if (seen.has(kind)) continue;
    seen.add(kind);
    out.push(h('span', { class: ['badge', 'offer', `offer-${kind}`], title: `${KIND_LABEL[kind] || kind} package`, text: KIND_LABEL[kind] || kind }));
  }
  if ((server.remotes || []).length) out.push(h('span', { class: 'badge offer offer-remote', title: 'hosted endpoint', text: 'remote' }));
  if (out.length === 0) out.push(h('span', { class: 'badge offer', text: 'nothing to run' }));
  return out;
}

function statusBadge(entry) {
  const status = official(entry).status;
  return status && status !== 'active' ? h('span', { class: 'badge s-warning', text: status }) : null;
}

/** The first package Portcullis runs: npm or PyPI over stdio (the rule of core/src/registry/install.rs). */
function runnable(server) {
  return (server.packages || []).find((p) => ['npm', 'pypi'].includes(p.registryType) && ((p.transport && p.transport.type) || 'stdio') === 'stdio');
}

/** The flags of an input from the server.json: required, secret, fixed, default. */
function specFlags(spec) {
  return [
    spec.isRequired ? h('span', { class: 'req', text: 'required' }) : null,
    spec.isSecret ? h('span', { class: 'secret', text: 'secret' }) : null,
    spec.value !== undefined ? h('span', { class: 'muted', text: `fixed: ${spec.value}` }) : null,
    spec.default !== undefined ? h('span', { class: 'muted', text: `default: ${spec.default}` }) : null,
  ];
}

/** A table of what a package or remote takes, as its server.json says. */
function takesTable(rows) {
  if (rows.length === 0) return h('p', { class: 'muted small', text: 'It takes no values.' });
  return h('table', { class: 'params takes' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Where' }), h('th', { text: 'What it is' }))),
    h('tbody', {}, rows.map(([name, where, spec]) => h('tr', { dataset: { takes: name } },
      h('td', {}, name, ' ', specFlags(spec)),
      h('td', { text: where }),
      h('td', { text: spec.description || '' })))));
}

function variableRows(variables) {
  return Object.entries(variables || {}).map(([k, spec]) => [k, PLACE_LABEL.variable, spec]);
}

function packageBlock(p, runs) {
  const kind = String(p.registryType || '').toLowerCase();
  const transport = (p.transport && p.transport.type) || 'stdio';
  const rows = [];
  for (const a of [...(p.runtimeArguments || []), ...(p.packageArguments || [])]) {
    rows.push([a.name || a.valueHint || a.value || 'argument', a.type === 'named' ? 'named argument' : 'positional argument', a]);
    rows.push(...variableRows(a.variables));
  }
  for (const e of p.environmentVariables || []) {
    rows.push([e.name, PLACE_LABEL.env, e]);
    rows.push(...variableRows(e.variables));
  }
  return h('div', { class: 'offer-block', dataset: { package: p.identifier, kind } },
    h('div', { class: 'row' },
      h('span', { class: ['badge', 'offer', `offer-${kind}`], text: KIND_LABEL[kind] || kind }),
      h('code', { text: p.version ? `${p.identifier}@${p.version}` : p.identifier }),
      h('span', { class: 'chip', text: transport }),
      p.runtimeHint ? h('span', { class: 'chip', title: 'runtime hint', text: p.runtimeHint }) : null,
      h('span', { class: 'grow' }),
      runs ? h('span', { class: 'badge s-ok', text: 'Portcullis runs this one' }) : null),
    takesTable(rows));
}

function remoteBlock(r) {
  const rows = [...variableRows(r.variables)];
  for (const hd of r.headers || []) {
    rows.push([hd.name, PLACE_LABEL.header, hd]);
    rows.push(...variableRows(hd.variables));
  }
  return h('div', { class: 'offer-block', dataset: { remote: r.url } },
    h('div', { class: 'row' },
      h('span', { class: 'badge offer offer-remote', text: 'remote' }),
      h('code', { text: r.url }),
      h('span', { class: 'chip', text: r.type })),
    takesTable(rows));
}

/** The form that adds `view`'s server: local name, package or remote, isolation, values. */
function addForm(view, ctx) {
  const server = view.server;
  const choices = [];
  if (view.package_inputs) choices.push(['package', 'Its package']);
  if (view.remote_inputs) choices.push(['remote', 'Its remote']);
  if (choices.length === 0) {
    const oci = (server.packages || []).some((p) => p.registryType === 'oci');
    return h('div', { class: 'card-body stack', id: 'catalog-add' },
      h('h3', { text: 'Add to Portcullis' }),
      h('div', { class: 'alert warn' },
        'Portcullis runs npm and PyPI packages over stdio, and remotes (streamable HTTP, SSE); this server offers none of those.',
        oci ? h('span', { class: 'hint' }, 'An OCI image’s own entrypoint is not run yet: add it on the ', h('a', { href: '#/servers', text: 'Servers' }), ' page with “Run in a Docker container”, that image, and the command to run in it.') : null));
  }

  let via = choices[0][0];
  const field = (id, label, input, help) => h('div', { class: 'field', dataset: { field: id } }, h('label', { for: id }, label), input, help ? h('div', { class: 'help', id: `${id}-help` }, help) : null);
  const name = h('input', { id: 'catalog-local-name', name: 'local_name', type: 'text', value: localName(server.name), autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'catalog-local-name-help' });
  const docker = h('input', { id: 'catalog-docker', name: 'docker', type: 'checkbox' });
  const dockerField = h('div', { class: 'field check', dataset: { field: 'docker' } },
    h('label', { for: 'catalog-docker' }, docker, ' Run in a Docker container'),
    h('div', { class: 'help', text: 'No network, a read-only root, memory and CPU limits. For more (network, shared folders) edit it on the Servers page afterwards.' }));
  const values = h('fieldset', { class: 'values' });
  const err = h('div', { class: 'add-error' });
  const submit = h('button', { class: 'btn primary', type: 'submit', id: 'catalog-add-submit', text: 'Add server' });

  const viaGroup = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Add it as' });
  for (const [v, label] of choices) {
    const b = h('button', { type: 'button', role: 'radio', class: v === via ? 'on' : '', 'aria-checked': v === via ? 'true' : 'false', text: label, dataset: { via: v } });
    b.addEventListener('click', () => {
      via = v;
      for (const o of viaGroup.children) {
        o.classList.toggle('on', o.dataset.via === v);
        o.setAttribute('aria-checked', o.dataset.via === v ? 'true' : 'false');
      }
      renderValues();
    });
    viaGroup.appendChild(b);
  }
  const what = () => {
    if (via === 'remote') {
      const r = (server.remotes || []).find((x) => x.type === 'streamable-http' || x.type === 'sse');
      return r ? `its remote, ${r.type} ${r.url}` : 'its remote';
    }
    const p = runnable(server);
    return p ? `${KIND_LABEL[p.registryType]} ${p.identifier}${p.version ? `@${p.version}` : ''}, run by ${p.registryType === 'npm' ? 'npx' : 'uvx'}` : 'its package';
  };
  const viaText = h('div', { class: 'help' });

  function renderValues() {
    viaText.textContent = `Adds ${what()}.`;
    dockerField.hidden = via !== 'package';
    if (via !== 'package') docker.checked = false;
    const inputs = (via === 'remote' ? view.remote_inputs : view.package_inputs) || [];
    fill(values, h('legend', { text: inputs.length ? 'Values it takes' : 'It takes no values.' }));
    inputs.forEach((input, i) => {
      const id = `catalog-value-${i}`;
      let control;
      if (input.choices && input.choices.length) {
        control = h('select', { id, name: input.key },
          input.required ? null : h('option', { value: '', text: input.default ? `default (${input.default})` : '(none)' }),
          input.choices.map((c) => h('option', { value: c, text: c })));
        if (input.required && input.default) control.value = input.default;
      } else {
        control = h('input', {
          id, name: input.key, type: input.secret ? 'password' : 'text', autocomplete: input.secret ? 'new-password' : 'off', spellcheck: 'false',
          placeholder: input.default ? `default: ${input.default}` : '',
        });
      }
      control.dataset.key = input.key;
      control.setAttribute('aria-describedby', `${id}-help`);
      if (input.required) control.setAttribute('aria-required', 'true');
      const label = [h('span', { class: 'mono', text: input.key }),
        input.required ? h('span', { class: 'req', text: 'required' }) : h('span', { class: 'faint', text: 'optional' }),
        input.secret ? h('span', { class: 'secret', text: 'secret' }) : null];
      const help = [PLACE_LABEL[input.place] || input.place, input.description ? `: ${input.description}` : '',
        input.secret ? '. Stored as a secret (OS keyring, else the encrypted secrets file); the config file only names it.' : ''];
      values.appendChild(h('div', { class: 'field value', dataset: { field: input.key } },
        h('label', { for: id }, label), control, h('div', { class: 'help', id: `${id}-help`, text: help.join('') })));
    });
  }
  renderValues();

  const form = h('form', { class: 'card-body add-form', id: 'catalog-add', 'aria-label': `Add ${server.name}`, novalidate: true },
    h('h3', { text: 'Add to Portcullis' }),
    h('p', { class: 'muted small' },
      'It lands in quarantine like any server you add: Portcullis starts it so that its tools can be seen, and each tool waits for your approval on the ',
      h('a', { href: '#/approvals', text: 'Approvals' }), ' page before agents can use it.'),
    h('div', { class: 'grid-2' },
      field('catalog-local-name', 'Local name', name, 'Tools are named <name>__<tool>. Letters, digits, - and _.'),
      h('div', { class: 'field' }, h('label', { text: 'Add it as' }), choices.length > 1 ? viaGroup : h('div', { class: 'small', text: choices[0][1] }), viaText)),
    dockerField, values, err,
    h('div', { class: 'form-actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(err);
    for (const el of values.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const given = {};
    for (const el of values.querySelectorAll('[data-key]')) if (el.value !== '') given[el.dataset.key] = el.value;
    const body = {
      name: server.name,
      version: server.version,
      local_name: name.value.trim() || undefined,
      via,
      isolation: docker.checked ? 'docker' : undefined,
      values: given,
    };
    await busy(submit, async () => {
      let done;
      try {
        done = await api.registryAdd(body);
      } catch (e) {
        fill(err, errorBox(e));
        // The values still needed: marked on their fields, the first one focused.
        const missing = (e.missing || []).map((m) => values.querySelector(`[data-key="${CSS.escape(m.key)}"]`)).filter(Boolean);
        for (const el of missing) el.setAttribute('aria-invalid', 'true');
        if (missing.length) missing[0].focus();
        return;
      }
      // Never kept in the page once sent.
      for (const el of values.querySelectorAll('input[type=password]')) el.value = '';
      form.replaceWith(addedPanel(done));
      ctx.toast(`Added ${done.name}: its tools wait for your approval.`);
      ctx.refreshBadges();
    });
  });
  return form;
}

/** What adding did: where it is, that it is in quarantine, where its secrets went. */
function addedPanel(done) {
  const place = (m) => (m.backend === 'keyring' ? 'the OS keyring' : 'the encrypted secrets file');
  return h('div', { class: 'card-body stack', id: 'catalog-added', role: 'status' },
    h('h3', { text: 'Added' }),
    h('div', { class: 'alert info' },
      h('div', {}, 'Added ', h('code', { text: done.name }), ` from ${done.registry_name} ${done.version}: ${done.source}.`),
      h('span', { class: 'hint' }, 'It is in quarantine: Portcullis starts it so that its tools can be seen, and agents can use none of them until you approve them on the ',
        h('a', { href: '#/approvals', text: 'Approvals' }), ' page. Its state is on the ', h('a', { href: '#/servers', text: 'Servers' }), ' page.')),
    (done.moved || []).length ? h('ul', { class: 'moved small' }, done.moved.map((m) => h('li', {},
      h('code', { text: m.key }), ` is kept in ${place(m)} as the secret `, h('code', { text: m.secret }), '; config.toml names it, never its value.'))) : null,
    (done.warnings || []).length ? h('div', { class: 'alert warn' }, done.warnings.map((w) => h('div', { text: w }))) : null);
}

function detailView(view, ctx) {
  const server = view.server;
  const meta = official(view);
  const run = runnable(server);
  const repo = server.repository;
  return h('div', { class: 'card', 'aria-label': `Registry server ${server.name}`, dataset: { detail: server.name } },
    h('div', { class: 'card-body' },
      h('div', { class: 'row' }, h('h2', { class: ['grow', server.title && 'display-title'], text: server.title || server.name }), statusBadge(view), h('span', { class: 'chip', text: server.version })),
      server.title ? h('div', { class: 'mono muted', text: server.name }) : null,
      h('dl', { class: 'kv' },
        h('dt', { text: 'Version' }), h('dd', { text: `${server.version}${meta.isLatest ? ' (latest)' : ''}` }),
        meta.publishedAt ? [h('dt', { text: 'Published' }), h('dd', { text: new Date(meta.publishedAt).toLocaleDateString() })] : null,
        meta.statusMessage ? [h('dt', { text: 'Status' }), h('dd', { text: `${meta.status}: ${meta.statusMessage}` })] : null,
        repo ? [h('dt', { text: 'Repository' }), h('dd', {}, h('a', { href: repo.url, target: '_blank', rel: 'noopener noreferrer', text: repo.url }), repo.subfolder ? ` (${repo.subfolder})` : '')] : null,
        server.websiteUrl ? [h('dt', { text: 'Website' }), h('dd', {}, h('a', { href: server.websiteUrl, target: '_blank', rel: 'noopener noreferrer', text: server.websiteUrl }))] : null,
        h('dt', { text: 'Offers' }), h('dd', { class: 'row' }, offerBadges(server)))),
    h('div', { class: 'card-body stack' }, h('h3', { text: 'Description' }), h('div', { class: 'description', text: server.description || 'No description.' })),
    (server.packages || []).length ? h('div', { class: 'card-body stack', id: 'catalog-packages' },
      h('h3', { text: `Packages (${server.packages.length})` }),
      server.packages.map((p) => packageBlock(p, p === run))) : null,
    (server.remotes || []).length ? h('div', { class: 'card-body stack', id: 'catalog-remotes' },
      h('h3', { text: `Remotes (${server.remotes.length})` }),
      server.remotes.map(remoteBlock)) : null,
    addForm(view, ctx));
}

export function mount(root, ctx) {
  const state = { q: ctx.params.get('q') || '', selected: ctx.params.get('server') || null, cursor: null };
  const search = h('input', { type: 'search', id: 'catalog-search', placeholder: 'Search the registry by name or description, e.g. “github”', 'aria-label': 'Search the registry', value: state.q, autocomplete: 'off' });
  const count = h('div', { class: 'result-count', 'aria-live': 'polite' });
  const results = h('div', { class: 'card results', role: 'listbox', 'aria-label': 'Registry servers' });
  const more = h('button', { class: 'btn small', type: 'button', id: 'catalog-more', text: 'More', hidden: true });
  const detail = h('div', { class: 'detail' });
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Catalog' }),
      h('p', {}, 'MCP servers published in the registry (', h('code', { text: '[registry] url' }), ' in config.toml, the official one by default). What you add here waits for your approval like any other server.'))),
    h('div', { class: 'tools-layout' },
      h('div', {}, h('div', { class: 'toolbar' }, search), count, results, h('div', { class: 'more' }, more)),
      detail));

  let items = [];
  let seq = 0;

  async function load(append = false) {
    const mine = ++seq;
    const text = state.q.trim();
    try {
      const page = await api.registrySearch(text, append ? state.cursor : undefined);
      if (mine !== seq) return; // a newer search answered first
      items = append ? items.concat(page.servers || []) : page.servers || [];
      state.cursor = (page.metadata && page.metadata.nextCursor) || null;
      render(text);
    } catch (e) {
      if (mine !== seq) return;
      count.textContent = '';
      more.hidden = true;
      fill(results, h('div', { class: 'card-body' }, errorBox(e)));
    }
  }

  function render(text) {
    count.textContent = `${plural(items.length, 'server')}${state.cursor ? ' so far' : ''}${text ? ` for “${text}”` : ''}`;
    more.hidden = !state.cursor;
    if (items.length === 0) {
      fill(results, h('div', { class: 'empty' }, h('p', { text: text ? 'No server in the registry matches. Try other words.' : 'The registry lists no servers.' })));
      return;
    }
    fill(results, items.map((entry) => {
      const s = entry.server;
      const selected = state.selected === s.name;
      const row = h('div', { class: ['result', selected && 'selected'], role: 'option', tabindex: '0', 'aria-selected': selected ? 'true' : 'false', dataset: { registryServer: s.name } },
        h('div', { class: 'title' },
          h('span', { class: 'tname', text: s.name }),
          h('span', { class: 'chip', text: s.version }),
          h('span', { class: 'grow' }),
          statusBadge(entry), offerBadges(s)),
        s.title ? h('div', { class: 'display-title', text: s.title }) : null,
        s.description ? h('div', { class: 'desc', text: firstLine(s.description) }) : null);
      const open = () => select(s.name);
      row.addEventListener('click', open);
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
      return row;
    }));
  }

  function select(name) {
    state.selected = name;
    for (const r of results.children) {
      const on = r.dataset.registryServer === name;
      r.classList.toggle('selected', on);
      r.setAttribute('aria-selected', on ? 'true' : 'false');
    }
    showDetail();
  }

  async function showDetail() {
    const name = state.selected;
    if (!name) {
      fill(detail, h('div', { class: 'card' }, h('div', { class: 'empty' }, h('p', { text: 'Choose a server to see what it offers and add it.' }))));
      return;
    }
    fill(detail, h('div', { class: 'card' }, h('div', { class: 'empty' }, h('p', { text: `Reading ${name} from the registry…` }))));
    let view;
    try {
      view = await api.registryServer(name);
    } catch (e) {
      if (state.selected === name) fill(detail, h('div', { class: 'card' }, h('div', { class: 'card-body' }, errorBox(e))));
      return;
    }
    if (state.selected !== name) return;
    fill(detail, detailView(view, ctx));
  }

  // Typing searches after a pause (each search is a request to the registry); Enter at once.
  let typing = null;
  const searchNow = () => { clearTimeout(typing); state.q = search.value; load(); };
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(searchNow, 250); });
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') searchNow(); });
  more.addEventListener('click', () => busy(more, () => load(true)));

  load();
  showDetail();
  setTimeout(() => search.focus(), 0);
}
