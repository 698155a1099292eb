// The live journal in a real browser: requests sent with the official npm `clevertap` client
// appear without a reload, a refused record is marked at its JSON path on the detail page, the
// keyboard moves through rows and opens one, and nothing goes wrong on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Inspector, clevertap, EMULATOR_URL } from './helper.mjs';

const TS = 1704103200; // 2024-01-01 10:00 UTC

let ui;
before(async () => {
  ui = await Inspector.start();
});
after(() => ui.close());

async function rowsShown(page) {
  return page.locator('#journal-rows tr[data-seq]').count();
}

test('requests sent with the npm client appear within a second, without a reload', async () => {
  const page = await ui.open('/journal');
  await page.locator('.live').filter({ hasText: /^live$/ }).waitFor();
  const before = await rowsShown(page);
  const navigations = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));

  const ct = clevertap();
  const sent = Date.now();
  const answer = await ct.upload([
    { type: 'profile', identity: 'ui-1', ts: TS, profileData: { Name: 'Ada' } },
    { type: 'event', identity: 'ui-1', ts: TS + 60, evtName: 'Played', evtData: { level: 1 } },
  ]);
  assert.equal(answer.status, 'success', JSON.stringify(answer));
  await page.locator('#journal-rows tr[data-seq]').nth(before).waitFor({ timeout: 1000 });
  const waited = Date.now() - sent;
  assert.ok(waited <= 1000, `the row took ${waited} ms`);
  assert.deepEqual(navigations, [], 'the page reloaded');
  const top = page.locator('#journal-rows tr[data-seq]').first();
  assert.match(await top.innerText(), /POST\s+\/1\/upload/);
  assert.match(await top.innerText(), /valid/);
  page.assertClean();
});

test('a refused record shows its error at its JSON path, reached from the list by keyboard', async () => {
  const ct = clevertap();
  await ct.upload([
    { type: 'profile', identity: 'ui-2', ts: TS, profileData: { Name: 'Bo' } },
    { type: 'event', identity: 'ui-2', ts: 'yesterday', evtName: 'Played', evtData: {} },
  ]);
  await ct.profile({ identity: 'ui-2' });
  await ct.upload([{ type: 'event', identity: 'ui-4', ts: TS + 5, evtName: 'Charged', evtData: { Amount: 12.5 } }]);
  await fetch(`${EMULATOR_URL}/1/uplaod`, { method: 'POST', body: '{}' });
  const all = await ui.open('/journal', { allowStatus: [] });
  await all.shot('journal-list');
  all.assertClean();

  const page = await ui.open('/journal?valid=false');
  // j/ArrowDown move down, k/ArrowUp up; Enter opens the selected row.
  await page.keyboard.press('j');
  const first = await page.evaluate(() => document.activeElement.dataset.seq);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('k');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.seq), first);
  assert.equal(await page.locator('tr.selected').count(), 1);
  await Promise.all([page.waitForURL(/\/journal\/\d+$/), page.keyboard.press('Enter')]);
  const mark = page.locator('mark.j-error[data-error-path="$.d[1]"]');
  await mark.waitFor();
  assert.equal(await mark.getAttribute('data-rule'), 'clevertap-525');
  assert.match(await page.locator('.j-why').first().innerText(), /Timestamp/);
  assert.match(await page.locator('table.errors').innerText(), /\$\.d\[1\]\s+clevertap-525/);
  await mark.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await page.shot('journal-detail');
  page.assertClean();

  const dark = await ui.open(new URL(page.url()).pathname.replace('/_emulator/ui', ''), { theme: 'dark' });
  await dark.locator('mark.j-error').first().evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await dark.shot('journal-detail-dark');
  dark.assertClean();
});

test('/ focuses the filter; the filter narrows the list and keeps the page live', async () => {
  await clevertap().upload([{ type: 'event', identity: 'ui-3', ts: TS, evtName: 'Opened', evtData: {} }]);
  const page = await ui.open('/journal');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'path');
  await page.keyboard.type('/1/profile.json');
  await Promise.all([page.waitForURL(/path=/), page.keyboard.press('Enter')]);
  const before = await rowsShown(page);
  for (const row of await page.locator('#journal-rows tr[data-seq]').allInnerTexts()) {
    assert.match(row, /\/1\/profile\.json/);
  }
  await clevertap().upload([{ type: 'event', identity: 'ui-3', ts: TS, evtName: 'Opened', evtData: {} }]);
  await clevertap().profile({ identity: 'ui-3' });
  await page.locator('#journal-rows tr[data-seq]').nth(before).waitFor({ timeout: 1000 });
  // The upload did not match the filter: only the profile request arrived.
  assert.equal(await rowsShown(page), before + 1);
  assert.match(await page.locator('#journal-rows tr[data-seq]').first().innerText(), /\/1\/profile\.json/);
  page.assertClean();
});
