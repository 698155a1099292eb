// The overview page in a real browser: it loads with its styles and script, the navigation works
// from the keyboard, and nothing goes wrong on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Inspector, EMULATOR_URL } from './helper.mjs';

let ui;
before(async () => {
  ui = await Inspector.start();
});
after(() => ui.close());

test('/ redirects to the overview, which loads without console errors', async () => {
  const page = await ui.open('');
  await page.goto(`${EMULATOR_URL}/`);
  assert.equal(new URL(page.url()).pathname, '/_emulator/ui');
  assert.equal(await page.locator('h1').textContent(), 'Overview');
  // The stylesheet applied (a CSP or a missing file would leave the page unstyled).
  const sticky = await page.locator('header.top').evaluate((el) => getComputedStyle(el).position);
  assert.equal(sticky, 'sticky');
  await page.shot('overview');
  page.assertClean();
});

test('the theme toggles to dark and stays chosen after a reload', async () => {
  const page = await ui.open('');
  await page.click('[data-action="theme"]');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  page.assertClean();
});
