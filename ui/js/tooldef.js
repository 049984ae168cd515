// Views of a tool's definition shared by the Tools and Approvals pages: the
// description, the arguments table, the scanner's findings, and the diff
// between the approved and the current definition.

import { h } from './dom.js';
import { pretty, sideBySide, wordDiff } from './diff.js';

/** A tool's description as the server wrote it (text only, whitespace kept). */
export function description(text) {
  if (!text) return h('div', { class: 'description faint', text: 'No description.' });
  return h('div', { class: 'description', text });
}

function typeOf(schema) {
  if (!schema || typeof schema !== 'object') return '';
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.type === 'array') return `${typeOf(schema.items) || 'any'}[]`;
  if (schema.type) return schema.type;
  if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).map(typeOf).filter(Boolean).join(' | ');
  if (schema.$ref) return schema.$ref.split('/').pop();
  return 'any';
}

/** The arguments of an input schema as a table: name, type, required, description. */
export function paramsTable(schema) {
  const props = (schema && schema.properties) || {};
  const names = Object.keys(props);
  if (names.length === 0) return h('p', { class: 'muted small', text: 'Takes no arguments.' });
  const required = new Set((schema && schema.required) || []);
  return h('table', { class: 'params' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Argument' }), h('th', { text: 'Type' }), h('th', { text: 'Description' }))),
    h('tbody', {}, names.map((name) => {
      const p = props[name] || {};
      const extra = [];
      if (p.default !== undefined) extra.push(`default ${JSON.stringify(p.default)}`);
      if (p.minimum !== undefined) extra.push(`≥ ${p.minimum}`);
      if (p.maximum !== undefined) extra.push(`≤ ${p.maximum}`);
      return h('tr', {},
        h('td', {}, name, required.has(name) ? h('span', { class: 'req', text: 'required' }) : null),
        h('td', {}, h('code', { text: typeOf(p) })),
        h('td', {}, p.description || p.title || '', extra.length ? h('div', { class: 'faint small', text: extra.join(' · ') }) : null));
    })));
}

/** The scanner's findings, most severe first (as the gateway sends them). */
export function findingsList(findings) {
  if (!findings || findings.length === 0) return null;
  return h('ul', { class: 'findings' }, findings.map((f) => h('li', { class: f.severity },
    h('div', { class: 'row' },
      h('span', { class: `badge s-${f.severity}`, text: f.severity }),
      h('span', { class: 'grow', text: f.message }),
      h('span', { class: 'rule', text: f.rule })),
    f.excerpt ? h('div', { class: 'excerpt', text: f.excerpt }) : null)));
}

function cell(side, text, kind, words) {
  if (text === null) return h('div', { class: 'cell blank' });
  const cls = ['cell', kind === 'same' ? '' : side === 'left' ? 'del' : 'add'];
  if (!words) return h('div', { class: cls, text });
  return h('div', { class: cls }, words.map(([w, changed]) => (changed ? h('mark', { class: side === 'left' ? 'del' : 'add', text: w }) : w)));
}

/** The approved and the current definition side by side, changes marked. */
export function diffView(approved, current) {
  const rows = sideBySide(pretty(approved), pretty(current));
  const grid = h('div', { class: 'diff', role: 'table', 'aria-label': 'Approved and current definition' },
    h('div', { class: 'col-head', text: 'Approved' }), h('div', { class: 'col-head', text: 'Now' }));
  for (const row of rows) {
    const words = row.kind === 'change' ? wordDiff(row.left, row.right) : null;
    grid.appendChild(cell('left', row.left, row.kind, words && words.left));
    grid.appendChild(cell('right', row.right, row.kind, words && words.right));
  }
  return grid;
}

/** The definition as JSON, folded away. */
export function rawJson(value, label = 'Definition (JSON)') {
  return h('details', { class: 'raw' }, h('summary', { text: label }), h('pre', { text: JSON.stringify(value, null, 2) }));
}
