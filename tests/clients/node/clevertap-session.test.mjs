// A short session of the real npm client `clevertap` on the default account, for the recording
// round trip (tests/clients/test_recorded_sessions.py records it, then replays the scenario).
// Its calls reuse what the server generated: the CleverTap ID of a profile and the cursors of an
// events download. Run by hand: EMULATOR_URL=http://127.0.0.1:8787 node --test <this file>

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { EMULATOR_URL } from './control.mjs';

const require = createRequire(import.meta.url);
const CleverTap = require('clevertap');

const TS = 1704103200; // 2024-01-01 10:00 UTC

test('a clevertap session: upload, profile by identity and by CleverTap ID, events', async () => {
  const ct = CleverTap.init('EMU-TEST-0001', 'emu-passcode', 'eu1');
  ct.api.apiEndpoint = `${EMULATOR_URL}/1`;
  const uploaded = await ct.upload([
    { type: 'profile', identity: 'rec-1', ts: TS, profileData: { Name: 'Rec One', Tier: 'gold' } },
    { type: 'event', identity: 'rec-1', ts: TS + 60, evtName: 'Played', evtData: { level: 1 } },
    { type: 'event', identity: 'rec-1', ts: TS + 120, evtName: 'Played', evtData: { level: 2 } },
  ]);
  assert.deepEqual(uploaded, { status: 'success', processed: 3, unprocessed: [] });

  const byIdentity = await ct.profile({ identity: 'rec-1' });
  assert.equal(byIdentity.status, 'success', JSON.stringify(byIdentity));
  const objectId = byIdentity.record.platformInfo[0].objectId;
  const byId = await ct.profile({ objectId });
  assert.equal(byId.record.identity, 'rec-1', JSON.stringify(byId));

  const events = await ct.events(
    { event_name: 'Played', from: 20240101, to: 20240101 },
    { batchSize: 1 },
  );
  assert.equal(events.length, 2, JSON.stringify(events));
});
