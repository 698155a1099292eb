// The CleverTap pages in a real browser: traffic from the official npm client (uploads, a
// campaign), mParticle's audience messages as its audience output sends them, then a click
// through from the accounts to an account, a profile search, the profile with its merge and
// events, a Partner - mParticle segment with its members, and a campaign with its targets.
// Screenshots of each view go to SCREENSHOT_DIR (docs/screenshots).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Inspector, EMULATOR_URL, clevertap, controlOk } from './helper.mjs';

const ACCOUNT = 'EMU-TEST-0001';
const PASSCODE = 'emu-passcode';
const TS = 1733220000; // 2024-12-03 10:00 UTC
const PEOPLE = [
  ['ann', 'Ann Archer', 'ann@example.com', 'Lisbon'],
  ['ann-work', 'Ann A.', 'ann.archer@work.example', 'Porto'],
  ['bob', 'Bob Brown', 'bob@example.com', 'Leeds'],
  ['cy', 'Cy Chen', 'cy@example.com', 'Lyon'],
  ['dee', 'Dee Dunn', 'dee@example.com', 'Cork'],
  ['eli', 'Eli Ezra', 'eli@example.com', 'Graz'],
  ['fay', 'Fay Ford', 'fay@example.com', 'Oslo'],
];
const AUDIENCE = { audience_id: 456, audience_name: 'Cart abandoners', audience_subscription_settings: {} };

let ui;
before(async () => {
  ui = await Inspector.start();
  await send();
});
after(() => ui.close());

/** POST a JSON body to a CleverTap path with the account's headers, as a server calls it (the
 *  npm client sends campaigns to "all" only, and knows nothing of partner audiences). */
async function post(path, body) {
  const response = await fetch(`${EMULATOR_URL}${path}`, {
    method: 'POST',
    headers: {
      'X-CleverTap-Account-Id': ACCOUNT,
      'X-CleverTap-Passcode': PASSCODE,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  return answer;
}

/** mParticle's Firehose audience message, as its audience output posts it to CleverTap. */
async function firehose(type, id, extra) {
  const envelope = { type, id, timestamp_ms: TS * 1000, firehose_version: '3.2.0' };
  const account = { account_id: 123456, account_settings: {} };
  await post('/1/partners/mparticle/audiences', { ...envelope, account, ...extra });
}

function member(customer, action) {
  return {
    mpid: String(1000 + customer.length),
    user_identities: [{ type: 'customer', encoding: 'raw', value: customer }],
    device_identities: [],
    partner_identities: [],
    audiences: [{ ...AUDIENCE, action }],
  };
}

async function send() {
  await controlOk('POST', '/clock/freeze', { at: TS + 3600 });
  const ct = clevertap();
  const profiles = PEOPLE.map(([identity, Name, Email, City]) => ({
    type: 'profile',
    identity,
    ts: TS,
    profileData: { Name, Email, City, 'MSG-email': true },
  }));
  const events = PEOPLE.flatMap(([identity], n) => [
    { type: 'event', identity, ts: TS + n * 60, evtName: 'App Opened', evtData: { version: '2.1' } },
    { type: 'event', identity, ts: TS + n * 60 + 30, evtName: 'Product Viewed', evtData: { sku: `SKU-${n}`, price: 10 + n } },
  ]);
  const uploaded = await ct.upload([...profiles, ...events]);
  assert.deepEqual(uploaded, { status: 'success', processed: profiles.length + events.length, unprocessed: [] });
  // Ann logs in with her work identity: her profiles merge (ann-work's survives).
  const merged = await ct.upload([
    { type: 'profile', identity: 'ann', ts: TS + 600, profileData: { identity: 'ann-work' } },
    { type: 'event', identity: 'ann-work', ts: TS + 900, evtName: 'Charged', evtData: { Amount: 42 } },
  ]);
  assert.equal(merged.status, 'success', JSON.stringify(merged));

  await firehose('audience_subscription_request', 'sub-1', { ...AUDIENCE, action: 'add' });
  await firehose('audience_membership_change_request', 'm-1', {
    user_profiles: ['ann-work', 'bob', 'cy'].map((c) => member(c, 'add')),
  });
  await firehose('audience_membership_change_request', 'm-2', { user_profiles: [member('cy', 'delete')] });

  await controlOk('POST', `/clevertap/${ACCOUNT}/segments`, {
    name: 'Newsletter',
    identities: ['bob', 'dee', 'eli'],
  });
  const created = await post('/1/targets/create.json', {
    name: 'Winter sale',
    target_mode: 'email',
    segment: 'Newsletter',
    content: { subject: 'Winter sale', body: '20% off everything' },
    when: 'now',
  });
  assert.equal(created.status, 'success', JSON.stringify(created));
}

test('accounts → profile search → profile with its merge and events → segment with members', async () => {
  const page = await ui.open('/clevertap');
  const row = page.locator('table.ct-accounts tbody tr', { hasText: ACCOUNT });
  // 6 profiles (Ann's two merged), 19 events (4 of them Partner Sync), 2 segments, 1 campaign.
  assert.match(await row.innerText(), /eu1\s+6\s+19\s+2\s+1\s+0/);
  await page.shot('clevertap-accounts');

  await Promise.all([page.waitForURL(`**/clevertap/${ACCOUNT}`), row.click()]);
  // Ann's first identity finds the profile it merged into.
  await page.fill('input[name="q"]', 'ann');
  await Promise.all([page.waitForURL(/q=ann&/), page.press('input[name="q"]', 'Enter')]);
  const found = page.locator('table.ct-profiles tbody tr');
  assert.equal(await found.count(), 1);
  assert.match(await found.textContent(), /ann-work, ann/);
  await page.shot('clevertap-profile-search');

  // Keyboard: the row is focusable and opens with Enter.
  await found.focus();
  await Promise.all([page.waitForURL(/\/profiles\//), page.keyboard.press('Enter')]);
  assert.match(await page.locator('h1').textContent(), /ann-work/);
  assert.match(await page.locator('#identities').textContent(), /ann-work.*ann/s);
  const merge = page.locator('#merges .ct-merge');
  assert.equal(await merge.count(), 1);
  assert.match(await merge.textContent(), /identity ann-work/);
  const events = page.locator('#events tbody tr');
  // Both profiles' launches and views, the charge, and the Partner Sync, newest first.
  assert.equal(await events.count(), 6);
  assert.match(await events.first().textContent(), /Partner Sync/);
  assert.match(await events.nth(1).textContent(), /Charged/);
  assert.match(await page.locator('#event-summary').textContent(), /Product Viewed\s*2/);
  await page.shot('clevertap-profile');

  await Promise.all([
    page.waitForURL(/\/segments\//),
    page.locator('#memberships a', { hasText: 'Cart abandoners' }).click(),
  ]);
  const members = page.locator('#members tbody tr');
  assert.equal(await members.count(), 2); // cy was added, then removed
  assert.match(await page.locator('#members').textContent(), /ann-work[\s\S]*Added[\s\S]*bob/);
  assert.match(await page.locator('#history').textContent(), /Removed[\s\S]*cy/);
  await page.shot('clevertap-segment');
  page.assertClean();
});

test('a captured campaign shows its targets, each linking to its profile', async () => {
  const page = await ui.open(`/clevertap/${ACCOUNT}#campaigns`);
  await Promise.all([page.waitForURL(/\/campaigns\//), page.locator('#campaigns a', { hasText: 'Winter sale' }).click()]);
  const targets = page.locator('#targets tbody tr');
  assert.equal(await targets.count(), 3);
  assert.match(await page.locator('#targets').textContent(), /bob@example.com/);
  await page.shot('clevertap-campaign');
  await Promise.all([page.waitForURL(/\/profiles\//), targets.first().locator('a').click()]);
  assert.match(await page.locator('#memberships').textContent(), /Winter sale/);
  page.assertClean();
});
