// The approval popup (popup.html): the Approvals page alone, in a small window.
// The desktop app opens it from a notification; in a browser it is /ui/popup.html.
// popup.html?server=NAME shows one server's waiting items (a notification about
// that server, a portcullis://approve?server=NAME link).

import { api } from './api.js';
import { authenticate, fail, listen, listenStatus, startEvents, toast } from './shell.js';
import * as approvals from './pages/approvals.js';

async function start() {
  await authenticate();
  startEvents();
  const dot = document.getElementById('live-dot');
  listenStatus((s) => { dot.className = `dot ${s}`; });
  const main = document.getElementById('main');
  approvals.mount(main, { params: new URLSearchParams(location.search), on: listen, every: (fn, ms) => setInterval(fn, ms), go: () => {}, toast, fail, refreshBadges: () => {}, compact: true, api });
}

start().catch(fail);
