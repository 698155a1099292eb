// The controls page in a real browser: reset empties the journal view, the clock and fault
// forms change the emulator through the control API, and a scenario file runs on an emulator of
// its own with its verdict shown on the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Inspector, clevertap, controlOk, EMULATOR_URL } from './helper.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCENARIO = path.resolve(here, '../../../fixtures/scenarios/clevertap-upload-profile-and-event.yaml');
const TS = 1704103200;

let ui;
before(async () => {
  ui = await Inspector.start();
});
after(async () => {
  await controlOk('DELETE', '/faults');
  await controlOk('POST', '/clock/unfreeze');
  await ui.close();
});

test('reset empties the journal view', async () => {
  await clevertap().upload([{ type: 'event', identity: 'c-1', ts: TS, evtName: 'Played', evtData: {} }]);
  const journal = await ui.open('/journal');
  assert.ok((await journal.locator('#journal-rows tr[data-seq]').count()) > 0);

  const page = await ui.open('/controls');
  await Promise.all([page.waitForEvent('load'), page.click('#reset button[type=submit]')]);
  assert.match(await page.locator('.flash').innerText(), /Reset everything: \d+ journal entries forgotten/);
  page.assertClean();

  await journal.reload();
  assert.equal(await journal.locator('#journal-rows tr[data-seq]').count(), 0);
  assert.ok(await journal.locator('p.empty').isVisible());
  journal.assertClean();
});

test("a tenant's reset forgets only that tenant's requests", async () => {
  await clevertap().upload([{ type: 'event', identity: 'c-2', ts: TS, evtName: 'Played', evtData: {} }]);
  await fetch(`${EMULATOR_URL}/1/uplaod`, { method: 'POST', body: '{}' }); // no tenant: kept
  const page = await ui.open('/controls');
  await page.selectOption('#reset select[name=tenant]', 'EMU-TEST-0001');
  await Promise.all([page.waitForEvent('load'), page.click('#reset button[type=submit]')]);
  assert.match(await page.locator('.flash').innerText(), /Reset EMU-TEST-0001: 1 journal entries forgotten/);
  const { requests } = await controlOk('GET', '/requests');
  assert.deepEqual(requests.map((r) => r.path), ['/1/uplaod']);
  page.assertClean();
});

test('the clock freezes and a fault is added and listed', async () => {
  const page = await ui.open('/controls');
  await Promise.all([page.waitForEvent('load'), page.click('#clock button:has-text("Freeze now")')]);
  assert.match(await page.locator('#clock').innerText(), /frozen/);
  const clock = await controlOk('GET', '/clock');
  assert.equal(clock.frozen, true);

  await page.click('#faults summary');
  await page.fill('#faults input[name=path]', '/1/upload');
  await page.fill('#faults input[name=status]', '503');
  await page.fill('#faults input[name=times]', '1');
  await Promise.all([page.waitForEvent('load'), page.click('#faults form[data-control=fault-add] button')]);
  assert.match(await page.locator('.flash').innerText(), /Fault \S+ added/);
  const { faults } = await controlOk('GET', '/faults');
  assert.deepEqual(faults.map((f) => [f.path, f.status, f.times]), [['/1/upload', 503, 1]]);
  assert.match(await page.locator('#faults table').innerText(), /\/1\/upload/);
  page.assertClean();
});

test('the clock is set from the form, and a downloaded state loads back', async (t) => {
  const page = await ui.open('/controls');
  await page.fill('#clock input[name=at]', '2024-03-01T12:00');
  await Promise.all([page.waitForEvent('load'), page.click('#clock form[data-control=clock-set] button')]);
  const clock = await controlOk('GET', '/clock');
  const expected = await page.evaluate(() => new Date('2024-03-01T12:00:00').getTime() / 1000);
  assert.ok(Math.abs(clock.now - expected) < 5, `clock ${clock.iso}`);

  await controlOk('DELETE', '/faults'); // the previous test's rule would answer this upload 503
  const uploaded = await clevertap().upload([{ type: 'profile', identity: 'state-1', ts: TS, profileData: { Name: 'Kept' } }]);
  assert.equal(uploaded.status, 'success', JSON.stringify(uploaded));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#state a.button')]);
  const file = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'ctmp-state-')), 'state.json');
  await download.saveAs(file);
  t.after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  await controlOk('POST', '/reset');
  assert.equal((await clevertap().profile({ identity: 'state-1' })).status, 'fail');

  await page.setInputFiles('#state input[type=file]', file);
  await Promise.all([page.waitForEvent('load'), page.click('#state button')]);
  assert.match(await page.locator('.flash').innerText(), /State loaded/);
  const profile = await clevertap().profile({ identity: 'state-1' });
  assert.equal(profile.record.profileData.Name ?? profile.record.name, 'Kept', JSON.stringify(profile));
  page.assertClean();
});

test('a scenario file runs apart and its verdict is shown', async () => {
  const page = await ui.open('/controls');
  await page.setInputFiles('#scenario input[type=file]', SCENARIO);
  await page.click('#scenario button');
  const verdict = page.locator('#scenario .verdict');
  await verdict.locator('.badge').first().waitFor();
  assert.match(await verdict.innerText(), /passed/);
  assert.ok((await verdict.locator('tr').count()) >= 2);
  await verdict.evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await page.shot('controls');
  page.assertClean();
});
