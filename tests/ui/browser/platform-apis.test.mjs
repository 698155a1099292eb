// The pages of the platform APIs in a real browser. mParticle: a DSR erasure submitted over
// OpenDSR v3 is found from the workspace's tabs, pending; the clock moves on through the control
// API and the same page says completed, with the MPID it erased and its signed callbacks; the
// list's filter form narrows to completed requests. CleverTap: a send to user ids (one user
// without a push token) is found from the account's tabs with who was reached and why not; a
// journey's entry with its outcome and export delivery. No console error, no failed request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { Inspector, EMULATOR_URL, clevertap, controlOk } from './helper.mjs';

const WORKSPACE = '1000';
const ACCOUNT = 'EMU-TEST-0001';
const S2S = 'Basic ' + Buffer.from('emu-s2s-key:emu-s2s-secret').toString('base64');
const NOW = 1_790_000_000;

let ui;
let receiver; // the DSR status callbacks' endpoint: answers 202, keeps the statuses told
const told = [];
before(async () => {
  ui = await Inspector.start();
  await controlOk('POST', '/clock/freeze', { at: NOW });
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      told.push(JSON.parse(body).request_status);
      response.writeHead(202).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await controlOk('POST', '/clock/unfreeze');
  receiver.close();
  await ui.close();
});

async function post(path, body, headers) {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

test('a DSR erasure is pending, then completed once the clock moves on', async () => {
  const batch = {
    environment: 'development',
    user_identities: { customerid: 'jane-1', email: 'jane@example.com' },
    events: [{ event_type: 'custom_event', data: { event_name: 'Bought', custom_event_type: 'other' } }],
  };
  assert.equal((await post('/v2/events', batch, { Authorization: S2S })).status, 202);
  const [user] = await controlOk('GET', `/mparticle/${WORKSPACE}/users?identity=jane@example.com`).then((b) => b.users);
  const requestId = 'a7551968-d5d6-44b2-9831-815ac9017798';
  const erasure = {
    subject_request_id: requestId,
    subject_request_type: 'erasure',
    submitted_time: '2026-09-21T10:00:00Z',
    api_version: '3.0',
    regulation: 'gdpr',
    subject_identities: { email: { value: 'jane@example.com', encoding: 'raw' } },
    status_callback_urls: [`http://127.0.0.1:${receiver.address().port}/opendsr/callbacks`],
    extensions: { 'opendsr.mparticle.com': { skip_waiting_period: true } },
  };
  const submitted = await post('/v3/requests', erasure, { Authorization: S2S });
  assert.equal(submitted.status, 201, submitted.body);

  const page = await ui.open(`/mparticle/${WORKSPACE}`);
  await page.click('nav.mp-tabs a:has-text("Data subject requests")');
  const row = page.locator('#requests tbody tr', { hasText: requestId });
  assert.match(await row.textContent(), /erasure[\s\S]*pending[\s\S]*email=jane@example\.com/);
  await row.locator('a').first().click();
  assert.match(await page.locator('#dsr-status').textContent(), /pending/);
  assert.match(await page.locator('#identities').textContent(), new RegExp(user.mpid));

  await controlOk('POST', '/clock/advance', { seconds: 60 + 3600 });
  await controlOk('POST', '/bridge/settle');
  await page.reload();
  assert.match(await page.locator('#dsr-status').textContent(), /completed/);
  assert.match(await page.locator('#erased').textContent(), new RegExp(user.mpid));
  const history = await page.locator('#history').textContent();
  assert.match(history, /pending[\s\S]*in_progress[\s\S]*completed/);
  // One callback per status, each POSTed to the URL the request named and delivered.
  assert.deepEqual(told, ['pending', 'in_progress', 'completed']);
  const callbacks = page.locator('#callbacks tbody tr');
  assert.equal(await callbacks.count(), 3);
  for (const text of await callbacks.allTextContents()) assert.match(text, /202[\s\S]*delivered/);
  await page.shot('mparticle-dsr');

  await page.click('.crumbs a:has-text("Data subject requests")');
  await page.selectOption('select[name="status"]', 'completed');
  await Promise.all([page.waitForURL(/status=completed/), page.click('#requests form button')]);
  assert.equal(await page.locator('#requests tbody tr').count(), 1);
  await page.selectOption('select[name="status"]', 'pending');
  await Promise.all([page.waitForURL(/status=pending/), page.click('#requests form button')]);
  assert.match(await page.locator('#requests').textContent(), /No request matches these filters/);
  page.assertClean();
});

test('a send shows who was reached and why not; a journey its entry and delivery', async () => {
  const ct = clevertap();
  await ct.upload([
    { type: 'profile', identity: 'ann', objectId: '__a1b2c3d4e5f6', profileData: { Name: 'Ann' } },
    { type: 'token', objectId: '__a1b2c3d4e5f6', tokenData: { id: 'fcm-token', type: 'fcm' } },
    { type: 'profile', identity: 'bob', profileData: { Email: 'bob@example.com' } },
  ]);
  const headers = { 'X-CleverTap-Account-Id': ACCOUNT, 'X-CleverTap-Passcode': 'emu-passcode' };
  const send = {
    to: { Identity: ['ann', 'bob'] },
    tag_group: 'welcome',
    content: { title: 'Welcome', body: 'Hello world!' },
  };
  const sent = await post('/1/send/push.json', send, headers);
  assert.equal(sent.status, 200, sent.body);

  const page = await ui.open(`/clevertap/${ACCOUNT}`);
  await page.click('nav.ct-tabs a:has-text("Sends (1)")');
  await page.click('#sends tbody a:has-text("#1")');
  const bob = page.locator('#recipients tbody tr', { hasText: 'bob' });
  assert.match(await bob.textContent(), /not reached[\s\S]*push/);
  const ann = page.locator('#recipients tbody tr', { hasText: 'ann' });
  assert.match(await ann.textContent(), /reached/);
  await page.shot('clevertap-send');

  const journey = await controlOk('POST', `/clevertap/${ACCOUNT}/journeys`, {
    name: 'Big checkouts',
    entry: { event_name: 'Checkout Started', event_properties: [{ name: 'Amount', operator: 'greater_than', value: 100 }] },
    steps: [{ type: 'mparticle_export' }],
  });
  await ct.upload([{ type: 'event', identity: 'ann', ts: NOW, evtName: 'Checkout Started', evtData: { Amount: 150 } }]);
  await controlOk('POST', '/bridge/settle');
  await page.goto(`${EMULATOR_URL}/_emulator/ui/clevertap/${ACCOUNT}`);
  await page.click('nav.ct-tabs a:has-text("Journeys (1)")');
  await page.click(`#journeys tbody a:has-text("${journey.name}")`);
  assert.equal((await page.locator('#journey-exited').textContent()).trim(), '1');
  const entry = page.locator('#entries tbody tr').first();
  assert.match(await entry.textContent(), /ann[\s\S]*exported[\s\S]*delivery-\d+/);
  await page.shot('clevertap-journey');
  await entry.locator('a:has-text("delivery-")').click();
  assert.match(await page.locator('h1').textContent(), /delivery-\d+/);
  page.assertClean();
});

test('a data plan with its block settings, the batch that violated it, a rejected alias', async () => {
  const oauth = await post('/oauth/token', {
    client_id: 'emu-client-id',
    client_secret: 'emu-client-secret',
    audience: 'https://api.mparticle.com',
    grant_type: 'client_credentials',
  });
  const bearer = { Authorization: `Bearer ${JSON.parse(oauth.body).access_token}` };
  const plan = {
    data_plan_id: 'shop_plan',
    data_plan_name: 'Shop plan',
    data_plan_versions: [
      {
        version: 1,
        activated_environment: 'development',
        blok: { ev: true },
        version_document: {
          data_points: [
            {
              description: 'Bought',
              match: { type: 'custom_event', criteria: { event_name: 'Bought', custom_event_type: 'other' } },
              validator: { type: 'json_schema', definition: {} },
            },
          ],
        },
      },
    ],
  };
  const made = await post(`/platform/v2/workspaces/${WORKSPACE}/plans`, plan, bearer);
  assert.equal(made.status, 200, made.body);
  const tagged = {
    environment: 'development',
    user_identities: { customerid: 'plan-1' },
    context: { data_plan: { plan_id: 'shop_plan', plan_version: 1 } },
    events: [
      { event_type: 'custom_event', data: { event_name: 'Bought', custom_event_type: 'other' } },
      { event_type: 'custom_event', data: { event_name: 'Surprise', custom_event_type: 'other' } },
    ],
  };
  assert.equal((await post('/v2/events', tagged, { Authorization: S2S })).status, 202);

  const page = await ui.open(`/mparticle/${WORKSPACE}`);
  await page.click('nav.mp-tabs a:has-text("Data plans")');
  assert.match(await page.locator('#plan-shop_plan').textContent(), /v1[\s\S]*development[\s\S]*unplanned events/);
  const violation = page.locator('#violations tbody tr').first();
  assert.match(await violation.textContent(), /shop_plan v1[\s\S]*unplanned[\s\S]*Surprise[\s\S]*blocked unplanned event 'Surprise'/);
  await page.shot('mparticle-plans');
  await violation.locator('a:has-text("#")').first().click();
  assert.match(await page.locator('#violations').textContent(), /blocked unplanned event 'Surprise'/);

  // Aliases: b -> c is dropped, since b was already an alias destination.
  const users = {};
  for (const customer of ['al-a', 'al-b', 'al-c']) {
    const one = { environment: 'development', user_identities: { customerid: customer }, events: [] };
    assert.equal((await post('/v2/events', one, { Authorization: S2S })).status, 202);
    const answer = await controlOk('GET', `/mparticle/${WORKSPACE}/users?identity=${customer}`);
    users[customer] = answer.users[0].mpid;
  }
  const span = { start_unixtime_ms: NOW * 1000 - 3600_000, end_unixtime_ms: NOW * 1000 };
  for (const [source, destination] of [['al-a', 'al-b'], ['al-b', 'al-c']]) {
    const body = { request_type: 'alias', environment: 'development', source_mpid: users[source], destination_mpid: users[destination], ...span };
    assert.equal((await post('/v2/alias', body, { Authorization: S2S })).status, 202);
  }
  await page.click('.crumbs a:has-text("Workspace")');
  await page.click('nav.mp-tabs a:has-text("Aliases")');
  await page.selectOption('select[name="status"]', 'rejected');
  await Promise.all([page.waitForURL(/status=rejected/), page.click('#aliases form button')]);
  const rows = page.locator('#aliases tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /rejected[\s\S]*the source MPID was already an alias destination/);
  page.assertClean();
});
