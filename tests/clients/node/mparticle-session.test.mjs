// A short session of the real npm client `mparticle` on the default workspace, for the recording
// round trip (tests/clients/test_recorded_sessions.py records it, then replays the scenario):
// one batch and one bulk upload, which the default connection forwards to CleverTap.
// Run by hand: EMULATOR_URL=http://127.0.0.1:8787 node --test <this file>

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { EMULATOR_URL } from './control.mjs';

const require = createRequire(import.meta.url);
const mParticle = require('mparticle');

const T0 = 1704103200000; // 2024-01-01 10:00 UTC, in ms

function batch(customerId, eventName) {
  const b = new mParticle.Batch(mParticle.Batch.Environment.development);
  const event = new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.navigation, eventName);
  event.timestamp_unixtime_ms = T0;
  event.custom_attributes = { button: 'signup' };
  b.addEvent(event);
  b.user_identities = new mParticle.UserIdentities();
  b.user_identities.customerid = customerId;
  b.user_attributes = { $firstname: 'Ada' };
  return b;
}

function upload(api, method, body) {
  return new Promise((resolve) => {
    api[method](body, (error, data, response) => resolve({ error, status: response?.status }));
  });
}

test('an mparticle session: a batch and a bulk upload', async () => {
  const api = new mParticle.EventsApi(new mParticle.Configuration('emu-s2s-key', 'emu-s2s-secret'));
  api.apiClient.basePath = `${EMULATOR_URL}/v2`;
  assert.deepEqual(await upload(api, 'uploadEvents', batch('rec-1', 'Clicked')), {
    error: null,
    status: 202,
  });
  const bulk = [batch('rec-2', 'Viewed'), batch('rec-3', 'Viewed')];
  assert.deepEqual(await upload(api, 'bulkUploadEvents', bulk), { error: null, status: 202 });
});
