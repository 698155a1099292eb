// The npm client `clevertap@1.3.0` unmodified: its own base URL `https://{region}.api.clevertap.com/1`,
// only the emulator's CA trusted (NODE_EXTRA_CA_CERTS) and the host names sent to the emulator's
// --tls-port by the no-root preload redirect-https.cjs (docs/https.md). Run by
// tests/tls/test_node_client.py; the control API is reached on EMULATOR_URL (plain HTTP).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { controlOk } from './control.mjs';

const require = createRequire(import.meta.url);
const CleverTap = require('clevertap');

const ACCOUNT = process.env.CT_ACCOUNT;
const PASSCODE = process.env.CT_PASSCODE;

async function requests(account) {
  const qs = new URLSearchParams({ tenant: account, limit: '1000' }).toString();
  return (await controlOk('GET', `/requests?${qs}`)).requests;
}

test('the default region URL reaches the emulator over HTTPS', { timeout: 15000 }, async () => {
  const ct = CleverTap.init(ACCOUNT, PASSCODE, 'eu1');
  assert.equal(ct.api.apiEndpoint, 'https://eu1.api.clevertap.com/1');

  const now = Math.floor(Date.now() / 1000);
  const upload = await ct.upload([
    { type: 'profile', identity: 'node-tls', ts: now, profileData: { Name: 'Ada', Plan: 'pro' } },
    { type: 'event', identity: 'node-tls', ts: now, evtName: 'Charged', evtData: { Amount: 7 } },
  ]);
  assert.equal(upload.status, 'success', JSON.stringify(upload));
  assert.equal(upload.processed, 2, JSON.stringify(upload));

  const profile = await ct.profile({ identity: 'node-tls' });
  assert.equal(profile.status, 'success', JSON.stringify(profile));
  assert.equal(profile.record.profileData.Plan, 'pro');

  const today = Number(new Date(now * 1000).toISOString().slice(0, 10).replaceAll('-', ''));
  const events = await ct.events({ event_name: 'Charged', from: today, to: today });
  assert.deepEqual(events.map((e) => e.profile.identity), ['node-tls'], JSON.stringify(events));

  const seen = await requests(ACCOUNT);
  assert.ok(seen.length >= 3, JSON.stringify(seen));
  for (const entry of seen) {
    assert.equal(entry.headers.host, 'eu1.api.clevertap.com', JSON.stringify(entry));
    assert.equal(entry.status, 200, JSON.stringify(entry));
  }
});

test('another region host reaches an account of that region', { timeout: 15000 }, async () => {
  const id = `TLS-IN1-${process.pid}`;
  await controlOk('POST', '/tenants', {
    kind: 'clevertap_account', id, passcode: 'in1-pass', region: 'in1',
  });
  const ct = CleverTap.init(id, 'in1-pass', 'in1');
  assert.equal(ct.api.apiEndpoint, 'https://in1.api.clevertap.com/1');
  const upload = await ct.upload([
    { type: 'event', identity: 'node-in1', ts: Math.floor(Date.now() / 1000), evtName: 'Opened', evtData: {} },
  ]);
  assert.equal(upload.status, 'success', JSON.stringify(upload));
  const [entry] = await requests(id);
  assert.equal(entry.headers.host, 'in1.api.clevertap.com');
});
