// The app's own page: says why the gateway did not start, offers Quit.
// Tauri's IPC, present in the app's windows; the global API (window.__TAURI__)
// is off (withGlobalTauri: false): no page needs more than invoke.
const invoke = window.__TAURI_INTERNALS__?.invoke;
const $ = (id) => document.getElementById(id);
async function show() {
  if (!invoke) return;
  const status = await invoke('desktop_status');
  if (status.running) return;
  const e = status.error ?? { kind: 'not-running', message: 'The gateway is not running.', hint: null };
  $('title').textContent = 'Portcullis is not running';
  $('kind').textContent = e.kind;
  $('message').textContent = e.message;
  if (e.hint) { $('hint').textContent = 'What to do: ' + e.hint; $('hint').hidden = false; }
  $('quit').hidden = false;
}
$('quit').addEventListener('click', () => invoke('quit'));
show();
