// Drives the real @mparticle/web-sdk in headless Chromium for tests/clients/test_mparticle_web_sdk.py
// and for the README's Web SDK block (tests/docs/: PAGE_HTML names the page to serve instead).
//
// Starts, on 127.0.0.1 (ports chosen by the system):
//   - a plain-HTTP server for the test page (tests/clients/web/index.html, or PAGE_HTML) and the SDK's browser build
//     (node_modules/@mparticle/web-sdk/dist/mparticle.js): the page's origin differs from the
//     emulator's, so every SDK call to the emulator is a cross-origin fetch with real CORS checks;
//   - a TLS front for the emulator (TLS_CERT / TLS_KEY, a throwaway self-signed pair) that passes
//     bytes through to EMULATOR_URL: the SDK always uses https:// for the config and Alias URLs,
//     and for everything when `forceHttps` is left on (none without TLS_CERT: tls_port is null);
//   - Chromium (CHROMIUM_PATH, default /usr/bin/chromium, Debian's package) through playwright-core.
//
// HTTPS with the platforms' host names (tests/tls/test_web_sdk.py, docs/https.md): with
// HOST_RESOLVER_RULES (Chromium's --host-resolver-rules, e.g. "MAP *.mparticle.com 127.0.0.1:8443")
// and TRUST_SPKI (the emulator CA's SPKI hash for --ignore-certificate-errors-spki-list), the page
// trusts that CA only (no ignoreHTTPSErrors) and no TLS front is started (TLS_CERT unset).
//
// Protocol: one JSON line out when ready, {"ready": true, "page": url, "tls_port": n}; then one
// JSON line in per step and one JSON line out per step:
//   {"eval": "<expression>"}            evaluate in the page (promises are awaited)
//   {"call": "emu.init", "args": [...]}  call a function of the page with JSON arguments
//   {"reload": true}                     reload the page (storage kept: a returning visitor)
// answered {"ok": true, "value": ...} or {"ok": false, "error": "..."}, both with "log": the
// console messages, page errors and finished/failed requests seen since the previous answer.
// End of stdin (or {"close": true}) closes everything and exits 0.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const SDK_BUILD = path.join(root, 'node_modules', '@mparticle', 'web-sdk', 'dist', 'mparticle.js');
const PAGE = process.env.PAGE_HTML || path.join(here, 'index.html');

function out(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

const log = [];
const sockets = new Set();

function pageServer() {
  const files = {
    '/': [PAGE, 'text/html; charset=utf-8'],
    '/mparticle.js': [SDK_BUILD, 'text/javascript; charset=utf-8'],
  };
  return http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end(); // no icon: not a 404 in the page's console
      return;
    }
    const entry = files[pathname];
    if (!entry) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': entry[1], 'cache-control': 'no-store' });
    fs.createReadStream(entry[0]).pipe(res);
  });
}

function tlsFront(upstream, cert, key) {
  const server = tls.createServer({ cert, key }, (client) => {
    const backend = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(backend);
    const drop = () => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on('error', drop).on('close', drop);
    backend.on('error', drop).on('close', drop);
    client.pipe(backend).pipe(client);
  });
  server.on('tlsClientError', () => {}); // a probe that gives up on the handshake
  return server;
}

async function main() {
  const emulator = new URL(process.env.EMULATOR_URL || '');
  if (!fs.existsSync(SDK_BUILD)) throw new Error(`no SDK build at ${SDK_BUILD}: run npm ci`);

  const pages = pageServer();
  const pagePort = await listen(pages);
  let front = null;
  let tlsPort = null;
  if (process.env.TLS_CERT) {
    const cert = fs.readFileSync(process.env.TLS_CERT);
    const key = fs.readFileSync(process.env.TLS_KEY);
    front = tlsFront(emulator, cert, key);
    tlsPort = await listen(front);
  }
  const extra = [];
  if (process.env.HOST_RESOLVER_RULES) {
    extra.push(`--host-resolver-rules=${process.env.HOST_RESOLVER_RULES}`);
  }
  if (process.env.TRUST_SPKI) {
    extra.push(`--ignore-certificate-errors-spki-list=${process.env.TRUST_SPKI}`);
  }

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    // As root, with no network but loopback: no sandbox, no background traffic to Google.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...extra,
    ],
  });
  // The TLS front's throwaway certificate is accepted as is; the emulator's own CA, by its key.
  const context = await browser.newContext({ ignoreHTTPSErrors: Boolean(process.env.TLS_CERT) });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('requestfinished', async (r) => {
    const response = await r.response().catch(() => null);
    log.push(`${r.method()} ${r.url()} -> ${response ? response.status() : '?'}`);
  });
  page.on('requestfailed', async (r) => {
    const why = r.failure() ? r.failure().errorText : '';
    // Chromium reports a fetch whose answer arrived but whose body the page never read (the SDK
    // ignores the empty 202 of events and Alias) as net::ERR_ABORTED: not a failure.
    const response = await r.response().catch(() => null);
    if (response && why === 'net::ERR_ABORTED') {
      log.push(`${r.method()} ${r.url()} -> ${response.status()} (body not read)`);
    } else {
      log.push(`${r.method()} ${r.url()} FAILED ${why}`);
    }
  });

  const pageUrl = `http://127.0.0.1:${pagePort}/`;
  await page.goto(pageUrl, { waitUntil: 'load' });
  const loaded = await page.evaluate(() => typeof window.mParticle?.init === 'function');
  if (!loaded) throw new Error('the page has no mParticle.init: the SDK build did not load');

  async function close() {
    await browser.close().catch(() => {});
    for (const s of sockets) s.destroy();
    pages.closeAllConnections?.();
    pages.close();
    front?.close();
  }

  out({ ready: true, page: pageUrl, tls_port: tlsPort });

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const step = JSON.parse(line);
    if (step.close) break;
    try {
      let value;
      if (step.reload) {
        await page.reload({ waitUntil: 'load' });
        value = await page.evaluate(() => typeof window.mParticle?.init === 'function');
      } else if (step.eval !== undefined) {
        value = await page.evaluate(step.eval);
      } else {
        value = await page.evaluate(([name, args]) => {
          const parts = name.split('.');
          const fn = parts.pop();
          const owner = parts.reduce((o, p) => o[p], window);
          return owner[fn](...args);
        }, [step.call, step.args || []]);
      }
      out({ ok: true, value: value === undefined ? null : value, log: log.splice(0) });
    } catch (error) {
      out({ ok: false, error: String(error && error.stack ? error.stack : error), log: log.splice(0) });
    }
  }
  await close();
}

main().then(
  () => process.exit(0),
  (error) => {
    out({ ready: false, error: String(error && error.stack ? error.stack : error), log });
    process.exit(1);
  },
);
