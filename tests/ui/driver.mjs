// A headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// controlled over stdin/stdout with one JSON object per line, so that the
// Python tests can drive a real browser step by step between their own
// steps (start a gateway, call a tool with the MCP SDK, read the store).
//
//   request:  {"id": 1, "op": "click", "args": ["role=button[name=\"Approve\"]"]}
//   answer:   {"id": 1, "ok": true, "value": ...}  or  {"id": 1, "ok": false, "error": "..."}
//
// Selectors are Playwright locator strings (CSS, `text=…`, `role=…[name=…]`, `>>`).
// Console errors and uncaught page errors are collected; `errors` returns them.
// Environment: CHROMIUM (default /usr/bin/chromium), UI_TIMEOUT_MS (default 10000).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const TIMEOUT = Number(process.env.UI_TIMEOUT_MS || 10000);
const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  deviceScaleFactor: 1,
  colorScheme: process.env.UI_COLOR_SCHEME || 'light',
  locale: 'en-GB',
  timezoneId: 'UTC',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
context.setDefaultTimeout(TIMEOUT);
const page = context.pages()[0] || (await context.newPage());
const errors = [];
page.on('console', (m) => {
  if (m.type() === 'error') errors.push(`console: ${m.text()}`);
});
page.on('pageerror', (e) => errors.push(`page: ${e.message}`));

const loc = (selector) => page.locator(selector);

const ops = {
  goto: async (url) => { await page.goto(url, { waitUntil: 'load' }); return page.url(); },
  reload: async () => { await page.reload({ waitUntil: 'load' }); },
  url: async () => page.url(),
  click: async (sel) => { await loc(sel).click(); },
  fill: async (sel, text) => { await loc(sel).fill(text); },
  press: async (sel, key) => { await loc(sel).press(key); },
  select: async (sel, value) => loc(sel).selectOption(value),
  /** Waits until the selector matches a visible element (optionally containing `text`). */
  wait: async (sel, text, timeout) => {
    const l = text ? loc(sel).filter({ hasText: text }) : loc(sel);
    await l.first().waitFor({ state: 'visible', timeout: timeout || TIMEOUT });
  },
  /** Waits until nothing matching the selector is visible. */
  gone: async (sel, timeout) => { await loc(sel).first().waitFor({ state: 'hidden', timeout: timeout || TIMEOUT }); },
  text: async (sel) => loc(sel).first().innerText(),
  texts: async (sel) => loc(sel).allInnerTexts(),
  count: async (sel) => loc(sel).count(),
  attr: async (sel, name) => loc(sel).first().getAttribute(name),
  value: async (sel) => loc(sel).first().inputValue(),
  visible: async (sel) => loc(sel).first().isVisible(),
  eval: async (js) => page.evaluate(js),
  /** Makes requests to URLs matching the glob fail, as if the network dropped them. */
  block: async (glob) => { await page.route(glob, (route) => route.abort()); },
  /** Lets requests to URLs matching the glob through again. */
  unblock: async (glob) => { await page.unroute(glob); },
  screenshot: async (path, fullPage) => { await page.screenshot({ path, fullPage: Boolean(fullPage) }); return path; },
  viewport: async (width, height) => { await page.setViewportSize({ width, height }); },
  errors: async () => errors.splice(0),
  close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); process.exit(0); },
};

const send = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
send({ id: 0, ok: true, value: { ready: true, version: context.browser() ? context.browser().version() : null } });

// One request at a time, in order.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      send({ id: null, ok: false, error: `not JSON: ${line}` });
      return;
    }
    const fn = ops[req.op];
    if (!fn) {
      send({ id: req.id, ok: false, error: `unknown op ${req.op}` });
      return;
    }
    try {
      const value = await fn(...(req.args || []));
      send({ id: req.id, ok: true, value: value === undefined ? null : value });
    } catch (e) {
      send({ id: req.id, ok: false, error: String((e && e.message) || e) });
    }
  });
});
lines.on('close', async () => {
  await queue;
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  process.exit(0);
});
