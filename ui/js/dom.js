// Building DOM without innerHTML: every text a server or tool supplies is set
// as text, never parsed as markup.

/**
 * h('div', {class: 'x', onclick: fn}, 'text', child, [more children])
 * Attributes: class, text, dataset {...}, on<event>: fn, boolean props (disabled, hidden, checked), others as attributes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag instanceof Element ? tag : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A 24×24 stroke icon from path data (one string, or several). */
export function icon(paths, cls) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  if (cls) svg.setAttribute('class', cls);
  for (const d of [].concat(paths)) {
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

export const ICONS = {
  servers: ['M4 5h16v6H4z', 'M4 13h16v6H4z', 'M8 8h.01', 'M8 16h.01'],
  tools: ['M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z', 'm20 20-4-4'],
  approvals: ['M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z', 'm8.5 12 2.5 2.5 4.5-5'],
  activity: ['M3 12h4l3-8 4 16 3-8h4'],
  catalog: ['M3 5h6a3 3 0 0 1 3 3v12a2 2 0 0 0-2-2H3z', 'M21 5h-6a3 3 0 0 0-3 3v12a2 2 0 0 1 2-2h7z'],
  profiles: ['M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M3 21v-1a6 6 0 0 1 12 0v1', 'M16 3.5a4 4 0 0 1 0 7', 'M21 21v-1a6 6 0 0 0-4-5.6'],
  connect: ['M9 7V3', 'M15 7V3', 'M6 7h12v4a6 6 0 0 1-12 0z', 'M12 17v4'],
  check: ['M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z', 'm8 12 3 3 5-6'],
  copy: ['M9 9h10v10H9z', 'M5 15V5h10'],
  plus: ['M12 5v14', 'M5 12h14'],
  call: ['m13 5 7 7-7 7', 'M4 12h16'],
  decision: ['M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z'],
  discovery: ['M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z', 'M12 8v4', 'M12 16h.01'],
  external: ['M14 4h6v6', 'M20 4l-9 9', 'M18 14v6H4V6h6'],
  settings: ['M4 6h10', 'M18 6h2', 'M16 4v4', 'M4 12h4', 'M12 12h8', 'M10 10v4', 'M4 18h12', 'M20 18h0', 'M18 16v4'],
};

/** A state badge: `s-<state>` picks its colour. */
export function badge(state, label) {
  return h('span', { class: `badge s-${state}` }, h('span', { class: 'dot' }), label || state.replace(/_/g, ' '));
}

/** A button that asks for a second click before `action` runs. */
export function confirmButton(label, confirmLabel, action, cls = 'btn danger small') {
  let armed = null;
  const btn = h('button', { class: cls, type: 'button', text: label });
  btn.addEventListener('click', async () => {
    if (!armed) {
      btn.textContent = confirmLabel;
      btn.classList.add('confirm');
      armed = setTimeout(() => { armed = null; btn.textContent = label; btn.classList.remove('confirm'); }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    btn.disabled = true;
    try { await action(); } finally { btn.disabled = false; btn.textContent = label; btn.classList.remove('confirm'); }
  });
  return btn;
}

/** Runs `action` with the button disabled, so a double click does not act twice. */
export async function busy(btn, action) {
  btn.disabled = true;
  try { return await action(); } finally { btn.disabled = false; }
}
