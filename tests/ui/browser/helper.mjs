// The one helper module of the inspector's browser tests (tests/ui/browser/*.test.mjs).
//
// Each test file is run by `node --test` from tests/ui/test_browser.py (one pytest test per file)
// against an emulator whose base URL is in EMULATOR_URL. Chromium is Debian's /usr/bin/chromium
// (or CHROMIUM_PATH), driven by playwright-core (package.json; it never downloads a browser).
//
//   const ui = await Inspector.start();            // one browser for the file
//   after(() => ui.close());
//   const page = await ui.open('/journal');         // a fresh tab at /_emulator/ui/journal, 1280x800
//   ...                                             // playwright's page API
//   await page.shot('journal');                     // docs screenshot, when SCREENSHOT_DIR is set
//   page.assertClean();                             // no console error, page error, failed request
//
// Every page watches for console errors, uncaught exceptions, failed requests and answers of
// 400 or more (a page may expect some: `ui.open(path, { allowStatus: [404] })`).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { chromium } from 'playwright-core';

import { EMULATOR_URL, ADMIN_TOKEN, control, controlOk } from '../../clients/node/control.mjs';

export { EMULATOR_URL, ADMIN_TOKEN, control, controlOk };
export const UI = `${EMULATOR_URL}/_emulator/ui`;
export const VIEWPORT = { width: 1280, height: 800 };

const require = createRequire(import.meta.url);

/** The official npm CleverTap client on the emulator's default account (or `account`). */
export function clevertap(account = 'EMU-TEST-0001', passcode = 'emu-passcode') {
  const CleverTap = require('clevertap');
  const ct = CleverTap.init(account, passcode, 'eu1');
  ct.api.apiEndpoint = `${EMULATOR_URL}/1`;
  return ct;
}

/** Poll `probe` (a function answering a truthy value or throwing) until it holds. */
export async function eventually(probe, { timeout = 5000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = new Error(`still ${JSON.stringify(value)}`);
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

function launchArgs() {
  // As root, with no network but loopback: no sandbox, no background traffic to Google.
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ];
}

export class Inspector {
  constructor(browser) {
    this.browser = browser;
    this.contexts = [];
  }

  static async start() {
    const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
    if (!fs.existsSync(executablePath)) {
      throw new Error(`no Chromium at ${executablePath}: apt-get install chromium, or set CHROMIUM_PATH`);
    }
    const browser = await chromium.launch({ executablePath, headless: true, timeout: 30000, args: launchArgs() });
    return new Inspector(browser);
  }

  /** A fresh tab (its own browser context: cookies, storage) at `UI + path`.
   *  Options: theme ('light' | 'dark'), allowStatus (answers >= 400 that are expected),
   *  waitUntil (playwright's, default 'load'). */
  async open(pathUnderUi = '', { theme = 'light', allowStatus = [], waitUntil = 'load' } = {}) {
    const context = await this.browser.newContext({ viewport: VIEWPORT, colorScheme: theme });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    watch(page, allowStatus);
    if (ADMIN_TOKEN) await signIn(page);
    await page.goto(UI + pathUnderUi, { waitUntil });
    return page;
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
    await this.browser.close().catch(() => {});
  }
}

async function signIn(page) {
  await page.goto(`${UI}/login`);
  await page.fill('#token', ADMIN_TOKEN);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/login')), page.click('#login button')]);
}

function watch(page, allowStatus) {
  const problems = [];
  page.problems = problems;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowStatus.includes(r.status())) {
      problems.push(`${r.request().method()} ${r.url()} -> ${r.status()}`);
    }
  });
  page.on('requestfailed', (r) => {
    const why = r.failure() ? r.failure().errorText : '';
    // An event stream (or a fetch) cut by leaving the page is the page going away, not a failure.
    if (why === 'net::ERR_ABORTED' && r.resourceType() === 'eventsource') return;
    problems.push(`${r.method()} ${r.url()} FAILED ${why}`);
  });
  /** Assert nothing went wrong on this page so far. */
  page.assertClean = () => assert.deepEqual(problems, [], `the page at ${page.url()} had problems`);
  /** A screenshot of the viewport to SCREENSHOT_DIR/<name>.png (docs/screenshots in the README). */
  page.shot = async (name) => {
    const dir = process.env.SCREENSHOT_DIR;
    if (!dir) return null;
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: false });
    return file;
  };
}
