// Tools: every tool, or the results of the same search agents use; filters by
// server and approval state; a detail view with the schema, findings and
// (for a changed tool) the diff, where it can be approved or blocked.

import { api } from '../api.js';
import { h, fill, badge, busy, confirmButton } from '../dom.js';
import { firstLine, plural } from '../format.js';
import { act as runAction, errorBox, throttle } from '../shell.js';
import { description, diffView, findingsList, highRules, paramsTable, rawJson } from '../tooldef.js';

const STATES = ['all', 'approved', 'pending', 'changed', 'blocked'];

export function mount(root, ctx) {
  const state = {
    q: ctx.params.get('q') || '',
    server: ctx.params.get('server') || '',
    filter: ctx.params.get('state') || 'all',
    selected: ctx.params.get('tool') ? { server: ctx.params.get('server') || '', name: ctx.params.get('tool') } : null,
  };
  if (state.selected) state.server = '';

  const search = h('input', { type: 'search', id: 'tool-search', placeholder: 'Search tools the way agents do, e.g. “what time is it in Tokyo”', 'aria-label': 'Search tools', value: state.q, autocomplete: 'off' });
  const serverSelect = h('select', { id: 'tool-server', 'aria-label': 'Server' }, h('option', { value: '', text: 'All servers' }));
  const filters = h('div', { class: 'filters', role: 'group', 'aria-label': 'Approval state' });
  for (const s of STATES) {
    const b = h('button', { type: 'button', class: s === state.filter ? 'on' : '', text: s === 'all' ? 'All' : s[0].toUpperCase() + s.slice(1), dataset: { state: s } });
    b.addEventListener('click', () => {
      state.filter = s;
      for (const o of filters.children) o.classList.toggle('on', o.dataset.state === s);
      render();
    });
    filters.appendChild(b);
  }
  const count = h('div', { class: 'result-count', 'aria-live': 'polite' });
  const results = h('div', { class: 'card results', role: 'listbox', 'aria-label': 'Tools' });
  const detail = h('div', { class: 'detail' });
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Tools' }),
      h('p', { text: 'Search ranks tools as agents see them through search_tools: by name, description and arguments.' }))),
    h('div', { class: 'tools-layout' },
      h('div', {}, h('div', { class: 'toolbar' }, search, serverSelect), filters, count, results),
      detail));

  let items = [];
  let seq = 0;

  async function loadServers() {
    try {
      const servers = await api.servers();
      const keep = serverSelect.value || state.server;
      fill(serverSelect, h('option', { value: '', text: 'All servers' }), servers.map((s) => h('option', { value: s.name, text: s.name })));
      serverSelect.value = servers.some((s) => s.name === keep) ? keep : '';
      state.server = serverSelect.value;
    } catch (e) {
      ctx.fail(e);
    }
  }

  async function load() {
    const mine = ++seq;
    try {
      let list;
      if (state.q.trim()) {
        const hits = await api.search(state.q.trim(), { server: state.server || undefined, limit: 50 });
        list = hits.map((x) => ({ server: x.server, name: x.name, description: x.description, signature: x.signature, state: x.state, score: x.score }));
      } else {
        const tools = await api.tools(state.server || undefined);
        list = tools.map((t) => ({ server: t.server, name: t.tool, description: t.description, signature: t.signature, state: t.state }));
      }
      if (mine !== seq) return; // a newer search answered first
      items = list;
      render();
    } catch (e) {
      if (mine === seq) fill(results, h('div', { class: 'card-body' }, errorBox(e)));
    }
  }

  function render() {
    const shown = items.filter((t) => state.filter === 'all' || t.state === state.filter);
    count.textContent = state.q.trim()
      ? `${plural(shown.length, 'result')} for “${state.q.trim()}”`
      : `${plural(shown.length, 'tool')}${state.server ? ` of ${state.server}` : ''}`;
    if (shown.length === 0) {
      fill(results, h('div', { class: 'empty' }, h('p', { text: state.q.trim() ? 'No tool matches. Try other words, or another filter.' : 'No tools here yet.' })));
      return;
    }
    fill(results, shown.map((t) => {
      const selected = state.selected && state.selected.server === t.server && state.selected.name === t.name;
      const row = h('div', { class: ['result', selected && 'selected'], role: 'option', tabindex: '0', 'aria-selected': selected ? 'true' : 'false', dataset: { tool: `${t.server}/${t.name}` } },
        h('div', { class: 'title' }, h('span', { class: 'tname', text: t.name }), h('span', { class: 'chip', text: t.server }), h('span', { class: 'grow' }), badge(t.state)),
        h('div', { class: 'sig', text: t.signature }),
        t.description ? h('div', { class: 'desc', text: firstLine(t.description) }) : null);
      const open = () => select(t.server, t.name);
      row.addEventListener('click', open);
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
      return row;
    }));
  }

  function select(server, name) {
    state.selected = { server, name };
    for (const r of results.children) {
      const on = r.dataset.tool === `${server}/${name}`;
      r.classList.toggle('selected', on);
      r.setAttribute('aria-selected', on ? 'true' : 'false');
    }
    showDetail();
  }

  async function showDetail() {
    if (!state.selected) {
      fill(detail, h('div', { class: 'card' }, h('div', { class: 'empty' }, h('p', { text: 'Choose a tool to see its description, arguments and state.' }))));
      return;
    }
    const { server, name } = state.selected;
    let d;
    try {
      d = await api.detail(server, name);
    } catch (e) {
      fill(detail, h('div', { class: 'card' }, h('div', { class: 'card-body' }, errorBox(e))));
      return;
    }
    if (!state.selected || state.selected.server !== server || state.selected.name !== name) return;
    const def = d.definition || {};
    const decide = (label, cls, what, done) => {
      const b = h('button', { class: cls, type: 'button', text: label });
      b.addEventListener('click', () => busy(b, async () => {
        await runAction(ctx, what, done);
        await Promise.all([load(), showDetail()]);
      }));
      return b;
    };
    const actions = [];
    const high = highRules(d.findings);
    if (d.state !== 'approved' && high.length === 0) actions.push(decide('Approve', 'btn primary small', () => api.approve(server, { tools: [{ name, hash: d.hash }] }), `${name} is approved: agents can call it now.`));
    if (d.state !== 'approved' && high.length > 0) {
      // A high-severity finding: the first click asks, naming it; the second approves.
      const b = confirmButton('Approve', `Approve despite ${high.join(', ')}? Click again`, async () => {
        await runAction(ctx, () => api.approve(server, { tools: [{ name, hash: d.hash }], confirm_high: true }), `${name} is approved: agents can call it now.`);
        await Promise.all([load(), showDetail()]);
      }, 'btn primary small');
      b.dataset.high = high.join(' ');
      actions.push(b);
    }
    if (d.state !== 'blocked') actions.push(decide('Block', 'btn danger small', () => api.block(server, { tools: [name] }), `${name} is blocked.`));
    const annotations = def.annotations ? Object.entries(def.annotations).filter(([, v]) => v !== false && v !== null) : [];
    fill(detail, h('div', { class: 'card', 'aria-label': `Tool ${server}/${name}` },
      h('div', { class: 'card-body' },
        h('div', { class: 'row' }, h('h2', { class: 'grow', text: name }), badge(d.state)),
        def.title ? h('div', { class: 'muted', text: def.title }) : null,
        h('dl', { class: 'kv' },
          h('dt', { text: 'Server' }), h('dd', {}, h('a', { href: `#/tools?server=${encodeURIComponent(server)}`, text: server })),
          h('dt', { text: 'Agents call it' }), h('dd', {}, d.callable && d.downstream_name ? h('code', { text: d.downstream_name }) : h('span', { class: 'muted', text: d.state === 'blocked' ? 'never: it is blocked' : 'not until you approve it' })),
          h('dt', { text: 'Arguments' }), h('dd', {}, h('code', { text: d.signature || '()' })),
          annotations.length ? [h('dt', { text: 'Hints' }), h('dd', {}, annotations.map(([k, v]) => h('span', { class: 'chip', text: v === true ? k : `${k}: ${v}` }), ' '))] : null),
        actions.length ? h('div', { class: 'row' }, actions) : null),
      h('div', { class: 'card-body stack' }, h('h3', { text: 'Description' }), description(def.description)),
      d.findings && d.findings.length ? h('div', { class: 'card-body' }, h('h3', { text: 'Scanner findings' }), findingsList(d.findings)) : null,
      d.approved ? h('div', { class: 'card-body' }, h('h3', { text: 'Changed since you approved it' }), diffView(d.approved, def)) : null,
      h('div', { class: 'card-body stack' }, h('h3', { text: 'Input schema' }), paramsTable(def.inputSchema)),
      def.outputSchema ? h('div', { class: 'card-body stack' }, h('h3', { text: 'Output schema' }), paramsTable(def.outputSchema)) : null,
      h('div', { class: 'card-body' }, rawJson(def))));
  }

  const typed = (() => {
    let t = null;
    return () => { clearTimeout(t); t = setTimeout(() => { state.q = search.value; load(); }, 180); };
  })();
  search.addEventListener('input', typed);
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') { state.q = search.value; load(); } });
  serverSelect.addEventListener('change', () => { state.server = serverSelect.value; load(); });

  const later = throttle(() => { load(); if (state.selected) showDetail(); }, 500);
  ctx.on((e) => { if (e.type !== 'call_finished') later(); });

  loadServers().then(load);
  showDetail();
  setTimeout(() => search.focus(), 0);
}
