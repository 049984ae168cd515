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

const SEVERITY_RANK = { high: 3, medium: 2, low: 1 };

/** The rank of a severity (high 3 … none 0), for sorting most severe first. */
export function severityRank(severity) {
  return SEVERITY_RANK[severity] || 0;
}

/** The most severe finding's rank of a tool or item (0 without findings). */
export function worstRank(findings) {
  return Math.max(0, ...(findings || []).map((f) => severityRank(f.severity)));
}

/** The rules of the high-severity findings, each once. */
export function highRules(findings) {
  return [...new Set((findings || []).filter((f) => f.severity === 'high').map((f) => f.rule))];
}

// How many characters of matched text a finding shows.
const SPAN_SHOWN = 200;

/**
 * Matched text as a person can read it: characters that print nothing or move
 * the text (controls, format characters such as zero-width spaces and
 * bidirectional marks, tag characters, line breaks) become ⟨U+XXXX⟩.
 */
export function visible(text) {
  const cut = [...text];
  const shown = cut.slice(0, SPAN_SHOWN).join('');
  const out = shown.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu,
    (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
  return cut.length > SPAN_SHOWN ? `${out}…` : out;
}

/** Where a finding is and exactly what matched, the match highlighted (as text, never markup). */
function spanView(span) {
  if (!span || typeof span.field !== 'string') return null;
  return h('div', { class: 'span', dataset: { field: span.field } },
    h('span', { class: 'faint', text: 'in ' }),
    h('code', { class: 'field', text: span.field }),
    h('span', { class: 'faint', text: ': ' }),
    h('mark', { class: 'match', text: visible(String(span.text || '')) }));
}

/** The scanner's findings, most severe first: severity, why, rule, where and what matched. */
export function findingsList(findings) {
  if (!findings || findings.length === 0) return null;
  const sorted = [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return h('ul', { class: 'findings' }, sorted.map((f) => h('li', { class: f.severity, dataset: { rule: f.rule } },
    h('div', { class: 'row' },
      h('span', { class: `badge s-${f.severity}`, text: f.severity }),
      h('span', { class: 'grow', text: f.message }),
      h('span', { class: 'rule', text: f.rule })),
    spanView(f.span),
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
