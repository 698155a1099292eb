// The journal page's speed with a full journal, measured in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium or CHROMIUM_PATH); run by bench/inspector.py, which fills the
// journal first. Each page is opened PAGE_LOADS times in a fresh tab; from Navigation Timing:
// `dcl_ms` (navigation start to DOMContentLoaded: the page's script has run, it is interactive)
// and `first_row_ms` (to the first journal row in the DOM, as the parser met it). Prints one
// JSON line.

import { chromium } from 'playwright-core';

const url = process.env.EMULATOR_URL;
const loads = Number(process.env.PAGE_LOADS || 10);
const pages = {
  'journal': '/_emulator/ui/journal',
  'journal-invalid': '/_emulator/ui/journal?valid=false',
  'journal-page-100': '/_emulator/ui/journal?offset=5000',
  'journal-detail': `/_emulator/ui/journal/${process.env.DETAIL_SEQ}`,
};

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), max: sorted[sorted.length - 1], min: sorted[0], runs: sorted.length };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
// Mark the moment the first row is parsed (a MutationObserver installed before any page script).
await context.addInitScript(() => {
  new MutationObserver((_, observer) => {
    if (document.querySelector('tr[data-seq], pre.json')) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
});
const result = { pages: {} };
for (const [name, path] of Object.entries(pages)) {
  const dcl = [];
  const firstRow = [];
  for (let i = 0; i < loads + 1; i++) {
    const page = await context.newPage();
    await page.goto(url + path, { waitUntil: 'load' });
    const t = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { dcl: nav.domContentLoadedEventEnd - nav.startTime, row: window.__firstRow ?? null };
    });
    await page.close();
    if (i === 0) continue; // the first load warms the server's templates and Chromium's cache
    dcl.push(t.dcl);
    if (t.row !== null) firstRow.push(t.row);
  }
  result.pages[name] = { dcl_ms: stats(dcl), first_row_ms: stats(firstRow) };
}
await browser.close();
console.log(JSON.stringify(result));
