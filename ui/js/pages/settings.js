// Settings: where Portcullis listens, what agents see by default, how long
// the activity log keeps its rows, notifications, and (in the desktop app)
// starting at login. Saved to the config file through the admin API (the
// file keeps its comments) and applied at once, except the listen address,
// which is used from the next start.

import { api } from '../api.js';
import { desktop } from '../desktop.js';
import { h, fill, busy } from '../dom.js';
import { errorBox } from '../shell.js';

export function mount(root, ctx) {
  const body = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' },
      h('h1', { text: 'Settings' }),
      h('p', { text: 'Saved to your config file, comments and all; changes apply at once.' }))),
    body);

  async function load() {
    let prefs;
    try {
      prefs = await api.settings();
    } catch (e) {
      fill(body, errorBox(e));
      return;
    }
    const autostart = desktop ? await desktop.invoke('autostart').catch(() => null) : null;
    fill(body, form(prefs, autostart));
  }

  function form(prefs, autostart) {
    const listen = h('input', { type: 'text', id: 'settings-listen', name: 'listen', value: prefs.listen, spellcheck: 'false', autocomplete: 'off' });
    const surface = h('select', { id: 'settings-surface', name: 'surface' },
      h('option', { value: 'search', text: 'Search: a few tools to find, describe and call the others', selected: prefs.surface === 'search' }),
      h('option', { value: 'direct', text: 'Direct: every approved tool by name', selected: prefs.surface === 'direct' }));
    const retention = h('input', { type: 'number', id: 'settings-retention', name: 'activity_retention_days', min: '1', max: '3650', step: '1', value: String(prefs.activity_retention_days) });
    const notifications = h('input', { type: 'checkbox', id: 'settings-notifications', name: 'notifications', checked: prefs.notifications });
    const save = h('button', { class: 'btn primary', type: 'submit', id: 'settings-save', text: 'Save' });
    const startAtLogin = autostart && autostart.supported
      ? h('div', { class: 'field check' },
          h('label', {}, h('input', { type: 'checkbox', id: 'settings-autostart', checked: autostart.enabled, onchange: (ev) => toggleAutostart(ev.target) }), 'Start Portcullis at login'),
          h('div', { class: 'help', text: 'Starts in the tray when you log in, without opening this window.' }))
      : null;
    // novalidate: the gateway checks every value and says what to do.
    const f = h('form', { class: 'card', id: 'settings-form', novalidate: true }, h('div', { class: 'card-body stack' },
      h('div', { class: 'field' }, h('label', { for: 'settings-listen', text: 'Listen address' }), listen,
        h('div', { class: 'help', text: `Where agents and this page reach Portcullis, as IP:PORT. Used from the next start; now serving on ${location.host}.` })),
      h('div', { class: 'field' }, h('label', { for: 'settings-surface', text: 'What agents see' }), surface,
        h('div', { class: 'help', text: 'At /mcp. /mcp/direct and /mcp/search always give one or the other.' })),
      h('div', { class: 'field' }, h('label', { for: 'settings-retention', text: 'Keep activity for (days)' }), retention),
      h('div', { class: 'field check' }, h('label', {}, notifications, 'Notify me when tools wait for approval'),
        h('div', { class: 'help', text: 'Native notifications of the desktop app; the tray icon shows what waits either way.' })),
      startAtLogin,
      h('div', { class: 'actions' }, save),
      h('p', { class: 'muted small', text: `Config file: ${prefs.config}` })));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const change = {};
      if (listen.value.trim() !== prefs.listen) change.listen = listen.value.trim();
      if (surface.value !== prefs.surface) change.surface = surface.value;
      if (notifications.checked !== prefs.notifications) change.notifications = notifications.checked;
      const days = Number(retention.value);
      if (days !== prefs.activity_retention_days) change.activity_retention_days = Number.isInteger(days) ? days : retention.value;
      busy(save, async () => {
        try {
          const saved = await api.saveSettings(change);
          ctx.toast(Object.keys(change).length ? 'Settings saved.' : 'Nothing changed.', { hint: change.listen ? `Portcullis will listen on ${saved.listen} from its next start.` : undefined });
          fill(body, form(saved, autostart));
        } catch (e) {
          ctx.fail(e);
        }
      });
    });
    return f;
  }

  async function toggleAutostart(box) {
    try {
      const state = await desktop.invoke('set_autostart', { enabled: box.checked });
      box.checked = state.enabled;
      ctx.toast(state.enabled ? 'Portcullis will start at login.' : 'Portcullis will not start at login.');
    } catch (e) {
      box.checked = !box.checked;
      ctx.toast(e.message || String(e), { hint: e.hint, error: true });
    }
  }

  load();
}
