// The desktop app's commands, for the pages that need them (Settings' "Start
// at login"). Only inside the app's windows: there Tauri's IPC is present and
// the app has handed over the API (window.__PORTCULLIS__.desktop). In a
// browser `desktop` is null and those controls are not shown.

const ipc = window.__TAURI_INTERNALS__;
const inApp = Boolean(ipc && typeof ipc.invoke === 'function' && window.__PORTCULLIS__ && window.__PORTCULLIS__.desktop);

/** invoke(command, args) → the command's value; a failure rejects with {kind, message, hint}. */
export const desktop = inApp ? { invoke: (command, args = {}) => ipc.invoke(command, args) } : null;
