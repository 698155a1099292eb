// The mParticle and flows pages in a real browser, clicked through as a developer would: batches
// sent with the official npm client `mparticle@1.0.8`; the workspace, the user found by their
// customer id, an audience membership with its reason, the audience; then the flows page, the
// delivery that retried (a fault makes CleverTap answer 503 once) with its attempts, and the
// batch beside the CleverTap records it became. No console error, no failed request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { Inspector, EMULATOR_URL, controlOk } from './helper.mjs';

const require = createRequire(import.meta.url);
const mParticle = require('mparticle');

const WORKSPACE = '1000';
const S2S = ['emu-s2s-key', 'emu-s2s-secret'];

let ui;
before(async () => {
  ui = await Inspector.start();
});
after(() => ui.close());

/** One batch through the official client's Events API: resolves when it is accepted (202). */
function upload(batch) {
  const api = new mParticle.EventsApi(new mParticle.Configuration(...S2S));
  api.apiClient.basePath = `${EMULATOR_URL}/v2`;
  return new Promise((resolve, reject) => {
    api.uploadEvents(batch, (error, data, response) => {
      if (error) reject(error);
      else if (response.status !== 202) reject(new Error(`answered ${response.status}`));
      else resolve();
    });
  });
}

function purchaseBatch(customerId, email) {
  const batch = new mParticle.Batch(mParticle.Batch.Environment.development);
  const purchase = new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.transaction, 'Purchase');
  purchase.custom_attributes = { sku: 'sku-1', amount: 25 };
  batch.addEvent(purchase);
  batch.addEvent(new mParticle.ScreenViewEvent('Checkout'));
  batch.addEvent(new mParticle.CrashReportEvent('NullPointerException', 'boom')); // not forwarded
  batch.user_identities = new mParticle.UserIdentities();
  batch.user_identities.customerid = customerId;
  batch.user_identities.email = email;
  batch.user_attributes = { $firstname: 'Ada', plan: 'pro' };
  return batch;
}

test('from a workspace to a user with an audience reason, then to the delivery that retried', async () => {
  await controlOk('POST', `/mparticle/${WORKSPACE}/audiences`, {
    name: 'Buyers',
    criteria: { event: 'Purchase' },
  });
  // CleverTap refuses the first upload: the delivery retries.
  await controlOk('POST', '/faults', { platform: 'clevertap', path: '/1/upload', status: 503, times: 1 });
  await upload(purchaseBatch('shopper-1', 'ada@example.com'));
  await upload(purchaseBatch('shopper-2', 'bob@example.com'));
  await controlOk('POST', '/bridge/settle');

  const page = await ui.open('/mparticle');
  await page.shot('mparticle-workspaces');
  await page.click(`a[href="/_emulator/ui/mparticle/${WORKSPACE}"]`);
  await page.fill('input[name="q"]', 'shopper-1');
  await Promise.all([page.waitForURL(/q=shopper-1/), page.click('form[role="search"] button')]);
  const rows = page.locator('#users tbody tr');
  assert.equal(await rows.count(), 1);
  // The row opens the user from the keyboard (Enter on the focused row).
  await rows.first().focus();
  await Promise.all([page.waitForURL(/\/users\/-?\d+$/), page.keyboard.press('Enter')]);

  const membership = page.locator('#memberships tbody tr').first();
  assert.match(await membership.textContent(), /Buyers/);
  assert.match(await membership.locator('td.reason').textContent(), /batch: now did 'Purchase' at least 1 times \['Purchase' done 1 times/);
  assert.match(await page.locator('main').textContent(), /shopper-1/);
  await page.shot('mparticle-user');

  await page.click('#memberships tbody a:has-text("Buyers")');
  assert.match(await page.locator('h1').textContent(), /Audience Buyers/);
  assert.equal(await page.locator('#members tbody tr').count(), 2);
  await page.shot('mparticle-audience');

  await page.click('header nav a:has-text("Flows")');
  await page.click('a[href="/_emulator/ui/flows/default"]');
  // The first events delivery retried: 503, then 200.
  const retried = page.locator('li.delivery.delivered', { hasText: 'events' }).last();
  assert.match(await retried.locator('.attempts').textContent(), /503\s*↻\s*\d+ ms\s*200/);
  await page.shot('flows-deliveries');

  await retried.locator('.head a.mono').click();
  const attempts = page.locator('#attempts li.attempt');
  assert.equal(await attempts.count(), 2);
  assert.match(await attempts.nth(0).textContent(), /503[\s\S]*journal #\d+[\s\S]*retried after \d+ ms/);
  assert.match(await attempts.nth(1).textContent(), /200/);
  await page.shot('flows-delivery');

  await page.click('a:has-text("beside its records")');
  assert.match(await page.locator('h1').textContent(), /Batch \d+ → CleverTap/);
  const mapping = await page.locator('#mapping').textContent();
  assert.match(mapping, /Purchase[\s\S]*record/);
  assert.match(mapping, /crash_report[\s\S]*skipped\s+event type not forwarded to CleverTap/);
  assert.match(await page.locator('#records').textContent(), /profile __/);
  await page.shot('flows-batch');
  page.assertClean();
});
