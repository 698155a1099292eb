// The real npm client `clevertap@1.3.0` against the emulator.
//
// Run through pytest (tests/clients/test_clevertap_npm.py starts the emulator and sets EMULATOR_URL), or
// by hand against a running emulator:
//   npm ci && EMULATOR_URL=http://127.0.0.1:8787 node --test tests/clients/node/
//
// Every test works in an account of its own, created through the control API, so tests neither
// see each other's data nor depend on the default tenants. Expected values come from
// docs/clevertap-behaviour.md; the client's own behaviour (what it sends, how it resolves) from
// its source (https://github.com/CleverTap/clevertap-node).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { EMULATOR_URL, control, controlOk } from './control.mjs';

const require = createRequire(import.meta.url);
const CleverTap = require('clevertap');


const TEST_TIMEOUT_MS = 15000;
// The client follows `cursor`/`next_cursor` for as long as the server sends one. A page that
// wrongly keeps a cursor would loop for ever, so each account's client stops after this many
// requests (the call throws, the client swallows it and resolves what it has).
const MAX_CALLS_PER_CLIENT = 200;

const it = (name, fn) => test(name, { timeout: TEST_TIMEOUT_MS }, fn);

// ---- control API (helpers in control.mjs) ------------------------------------------------

/** A control view of an account: GET /_emulator/clevertap/{account}/{what}?params. */
function view(account, what, params = {}) {
  const qs = new URLSearchParams({ limit: '1000', ...params }).toString();
  return controlOk('GET', `/clevertap/${encodeURIComponent(account)}/${what}?${qs}`);
}

/** Journal entries of one account for one platform path, oldest first. */
async function journal(account, path) {
  const qs = new URLSearchParams({ tenant: account, path, limit: '1000' }).toString();
  const answer = await controlOk('GET', `/requests?${qs}`);
  return answer.requests;
}

// ---- accounts and clients -----------------------------------------------------------------

const RUN_ID = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const createdAccounts = [];
let accountSeq = 0;

function client(accountId, passcode) {
  const ct = CleverTap.init(accountId, passcode, 'eu1');
  ct.api.apiEndpoint = `${EMULATOR_URL}/1`;
  const call = ct.api._call.bind(ct.api);
  let calls = 0;
  ct.api._call = (endpoint, options, callback) => {
    calls += 1;
    if (calls > MAX_CALLS_PER_CLIENT) {
      throw new Error(`more than ${MAX_CALLS_PER_CLIENT} requests from one client (${endpoint})`);
    }
    return call(endpoint, options, callback);
  };
  return ct;
}

/** A fresh account (control API) and a client pointed at the emulator for it. */
async function newAccount(options) {
  accountSeq += 1;
  const id = `npm-${RUN_ID}-${accountSeq}`;
  const doc = { kind: 'clevertap_account', id, passcode: 'p', region: 'eu1' };
  if (options) doc.options = options;
  const { status, body } = await control('POST', '/tenants', doc);
  assert.equal(status, 201, `creating account ${id}: ${JSON.stringify(body)}`);
  createdAccounts.push(id);
  return { id, ct: client(id, 'p') };
}

after(async () => {
  for (const id of createdAccounts) await control('DELETE', `/tenants/${encodeURIComponent(id)}`);
});

// ---- helpers --------------------------------------------------------------------------------

const SUCCESS = (processed) => ({ status: 'success', processed, unprocessed: [] });
const NOT_FOUND = { status: 'fail', error: 'Profile not found', code: 404 };

async function uploadOk(ct, records) {
  const res = await ct.upload(records);
  assert.deepEqual(res, SUCCESS(records.length), `upload: ${JSON.stringify(res)}`);
}

async function profileRecord(ct, lookup) {
  const res = await ct.profile(lookup);
  assert.equal(res.status, 'success', `profile(${JSON.stringify(lookup)}): ${JSON.stringify(res)}`);
  return res.record;
}

async function objectIdOf(ct, identity) {
  const record = await profileRecord(ct, { identity });
  assert.ok(record.platformInfo.length >= 1, `no platformInfo: ${JSON.stringify(record)}`);
  return record.platformInfo[0].objectId;
}

// Instants of January 2024 in UTC, as epoch seconds: d1_1130 is 2024-01-01 11:30:00 (exported
// events carry it packed as 20240101113000).
const T = {
  d1_0800: 1704096000,
  d1_1000: 1704103200,
  d1_1130: 1704108600,
  d1_1200: 1704110400,
  d1_1300: 1704114000,
  d2_0915: 1704186930,
  d5_0800: 1704441600,
};

/** Upload records: a profile (ts defaults to 2024-01-01 08:00 UTC) and an event. */
const profileRec = (identity, profileData, ts = T.d1_0800) => ({
  type: 'profile',
  identity,
  ts,
  profileData,
});
const eventRec = (identity, evtName, ts, evtData = {}) => ({
  type: 'event',
  identity,
  ts,
  evtName,
  evtData,
});

const byTs = (a, b) => a.ts - b.ts;
const sorted = (values) => [...values].sort();

// ---- upload ---------------------------------------------------------------------------------

describe('upload', () => {
  it('the README snippet works with the default account', async () => {
    const ct = client('EMU-TEST-0001', 'emu-passcode');
    const res = await ct.upload([
      { type: 'event', identity: 'user-1', evtName: 'Signed Up', evtData: { plan: 'pro' } },
    ]);
    assert.deepEqual(res, SUCCESS(1));
  });

  it('success: events and profiles are stored', async () => {
    const { id, ct } = await newAccount();
    const res = await ct.upload([
      { type: 'profile', identity: 'u-1', ts: T.d1_0800, profileData: { Name: 'U One' } },
      { type: 'event', identity: 'u-1', ts: T.d1_1000, evtName: 'Opened', evtData: { n: 1 } },
      { type: 'event', identity: 'u-2', ts: T.d1_1130, evtName: 'Opened', evtData: { n: 2 } },
    ]);
    assert.deepEqual(res, { status: 'success', processed: 3, unprocessed: [] });

    const profiles = await view(id, 'profiles');
    assert.equal(profiles.total, 2);
    const events = await view(id, 'events', { event_name: 'Opened' });
    assert.equal(events.total, 2);
  });

  it('partial: 515 bad Email and 509 missing evtName, with the normalised record', async () => {
    const { id, ct } = await newAccount();
    const badEmail = {
      type: 'profile',
      identity: 'v-2',
      ts: T.d1_0800,
      profileData: { Email: 'not-an-email' },
    };
    const noName = { type: 'event', identity: 'v-3', ts: T.d1_1000, evtData: { a: 1 } };
    const res = await ct.upload([
      { type: 'profile', identity: 'v-1', ts: T.d1_0800, profileData: { Name: 'V' } },
      badEmail,
      noName,
    ]);
    assert.deepEqual(res, {
      status: 'partial',
      processed: 1,
      unprocessed: [
        {
          status: 'fail',
          code: 515,
          error: 'Profile data is incorrect. Email is not valid.Skipped record number : 2',
          record: badEmail,
        },
        {
          status: 'fail',
          code: 509,
          error: 'Event name is mandatory.Skipped record number : 3',
          record: noName,
        },
      ],
    });
    const profiles = await view(id, 'profiles');
    assert.deepEqual(
      profiles.profiles.map((p) => p.identities),
      [['v-1']],
      'only the valid record made a profile',
    );
  });

  it('fail: all records rejected (516 Phone, 513 restricted, 525 ts); nothing stored', async () => {
    const { id, ct } = await newAccount();
    const res = await ct.upload([
      { type: 'profile', identity: 'w-1', ts: T.d1_0800, profileData: { Phone: '0123' } },
      { type: 'event', identity: 'w-1', ts: T.d1_1000, evtName: 'App Launched', evtData: {} },
      { type: 'event', identity: 'w-1', ts: 1704103200000, evtName: 'Opened', evtData: {} },
    ]);
    assert.equal(res.status, 'fail', JSON.stringify(res));
    assert.equal(res.processed, 0);
    assert.deepEqual(
      res.unprocessed.map((u) => [u.status, u.code, u.error]),
      [
        [
          'fail',
          516,
          'Profile data is incorrect. Phone number is not valid.Skipped record number : 1',
        ],
        ['fail', 513, 'Raised a restricted system event : App Launched.Skipped record number : 2'],
        [
          'fail',
          525,
          'Timestamp should be present in the Unix Epoch format. Skipped record number : 3',
        ],
      ],
    );
    assert.equal((await view(id, 'profiles')).total, 0);
    assert.equal((await view(id, 'events')).total, 0);
  });

  it('the client splits uploads into batches (batchSize 2: three requests)', async () => {
    const { id, ct } = await newAccount();
    const records = [1, 2, 3, 4, 5].map((n) => ({
      type: 'event',
      identity: `b-${n}`,
      ts: T.d1_1000 + n,
      evtName: 'Batched',
      evtData: { n },
    }));
    const res = await ct.upload(records, { batchSize: 2 });
    assert.deepEqual(res, [SUCCESS(2), SUCCESS(2), SUCCESS(1)]);
    assert.equal((await journal(id, '/1/upload')).length, 3);
    assert.equal((await view(id, 'events', { event_name: 'Batched' })).total, 5);
  });

  it('150 records go as 100 + 50; a skipped record is numbered within its request', async () => {
    const { id, ct } = await newAccount();
    const records = Array.from({ length: 150 }, (_, i) =>
      eventRec('bulk-1', 'Bulk', T.d1_1000 + i, { i }),
    );
    records[120] = { ...records[120], evtName: '' };
    const res = await ct.upload(records, { batchSize: 1000 });
    assert.deepEqual(res, [
      SUCCESS(100),
      {
        status: 'partial',
        processed: 49,
        unprocessed: [
          {
            status: 'fail',
            code: 509,
            error: 'Event name is mandatory.Skipped record number : 21',
            record: records[120],
          },
        ],
      },
    ]);
    const sizes = (await journal(id, '/1/upload')).map((e) => e.body.d.length);
    assert.deepEqual(sizes, [100, 50]);
    const count = { event_name: 'Bulk', from: 20240101, to: 20240101 };
    assert.deepEqual(await ct.getEventsCount(count), { status: 'success', count: 149 });
  });

  it('the client rejects a record without an identifier and sends nothing', async () => {
    const { id, ct } = await newAccount();
    await assert.rejects(
      ct.upload([{ type: 'event', evtName: 'X', evtData: {} }]),
      /upload record must contain an identity, FBID, GPID or objectId field/,
    );
    assert.equal((await journal(id, '/1/upload')).length, 0);
  });
});

// ---- auth -----------------------------------------------------------------------------------

describe('auth', () => {
  it('wrong passcode: the promise resolves to the 401 JSON', async () => {
    const { id } = await newAccount();
    const ct = client(id, 'wrong-passcode');
    const invalid = { status: 'fail', error: 'Invalid Credentials', code: 401 };
    assert.deepEqual(
      await ct.upload([{ type: 'event', identity: 'x', evtName: 'E', evtData: {} }]),
      invalid,
    );
    assert.deepEqual(await ct.profile({ identity: 'x' }), invalid);
    const query = { event_name: 'E', from: 20240101, to: 20240101 };
    assert.deepEqual(await ct.getEventsCount(query), invalid);
    // cursor downloads resolve to the records they got: none
    assert.deepEqual(await ct.events(query), []);
    // A wrong passcode proves no account: its 401s are journaled under none (tenant null).
    assert.deepEqual(await journal(id, '/1/upload'), []);
  });

  it('unknown account: 401 Account ID is not valid', async () => {
    const ct = client(`npm-${RUN_ID}-missing`, 'p');
    assert.deepEqual(await ct.upload([eventRec('x', 'E', T.d1_1000)]), {
      status: 'fail',
      error: 'Account ID is not valid',
      code: 401,
    });
  });
});

// ---- profile lookups ------------------------------------------------------------------------

describe('profile', () => {
  it('by identity, by email and by objectId answer the same record', async () => {
    const { ct } = await newAccount();
    await uploadOk(ct, [
      {
        type: 'profile',
        identity: 'alice-1',
        ts: T.d1_0800,
        profileData: { Name: 'Alice', Email: 'alice@example.com', 'Customer Type': 'Gold' },
      },
      { type: 'event', identity: 'alice-1', ts: T.d1_1000, evtName: 'Viewed', evtData: {} },
      { type: 'event', identity: 'alice-1', ts: T.d1_1200, evtName: 'Viewed', evtData: {} },
    ]);

    const byIdentity = await profileRecord(ct, { identity: 'alice-1' });
    assert.equal(byIdentity.identity, 'alice-1');
    assert.equal(byIdentity.email, 'alice@example.com');
    assert.equal(byIdentity.name, 'Alice');
    assert.deepEqual(byIdentity.identities, ['alice-1']);
    assert.deepEqual(byIdentity.profileData, {
      Name: 'Alice',
      Email: 'alice@example.com',
      'Customer Type': 'Gold',
    });
    assert.deepEqual(byIdentity.events, {
      Viewed: { count: 2, first_seen: T.d1_1000, last_seen: T.d1_1200 },
    });
    assert.equal(byIdentity.platformInfo.length, 1);
    const { objectId } = byIdentity.platformInfo[0];
    assert.match(objectId, /^__[0-9a-f]{32}$/);

    assert.deepEqual(await profileRecord(ct, { email: 'alice@example.com' }), byIdentity);
    assert.deepEqual(await profileRecord(ct, { objectId }), byIdentity);
  });

  it('a profile made by objectId (iOS id) gets an identity from profileData.identity', async () => {
    const { ct } = await newAccount();
    const objectId = '-1a063854f83a4c6484285039ecff87cb';
    await uploadOk(ct, [
      { type: 'event', objectId, ts: T.d1_1000, evtName: 'Opened', evtData: {} },
    ]);
    const anonymous = await profileRecord(ct, { objectId });
    assert.deepEqual(anonymous.platformInfo, [{ platform: 'iOS', objectId }]);
    assert.deepEqual(anonymous.identities, []);
    assert.equal('identity' in anonymous, false, JSON.stringify(anonymous));

    await uploadOk(ct, [
      { type: 'profile', objectId, ts: T.d1_1200, profileData: { identity: 'login-1', Name: 'L' } },
    ]);
    const known = await profileRecord(ct, { identity: 'login-1' });
    assert.deepEqual(known.platformInfo, [{ platform: 'iOS', objectId }]);
    assert.deepEqual(known.identities, ['login-1']);
    assert.deepEqual(known.profileData, { Name: 'L' });
    assert.deepEqual(known.events, {
      Opened: { count: 1, first_seen: T.d1_1000, last_seen: T.d1_1000 },
    });
    assert.deepEqual(await profileRecord(ct, { objectId }), known);
  });

  it('profile values: Gender and Age normalised, $incr/$decr, $add/$remove, $delete', async () => {
    const { ct } = await newAccount();
    const put = (profileData, ts) => uploadOk(ct, [profileRec('o1', profileData, ts)]);
    await put({ Gender: 'Female', Age: '30', Score: 10, Tags: ['a', 'b'], Temp: 'x' }, T.d1_0800);
    await put({ Score: { $incr: 5 }, Tags: { $add: ['c'] }, Temp: { $delete: true } }, T.d1_1000);
    await put({ Score: { $decr: 2 }, Tags: { $remove: 'a' } }, T.d1_1200);
    const record = await profileRecord(ct, { identity: 'o1' });
    assert.deepEqual(record.profileData, { Gender: 'F', Age: 30, Score: 13, Tags: ['b', 'c'] });
  });

  it('an unknown profile answers Profile not found', async () => {
    const { ct } = await newAccount();
    assert.deepEqual(await ct.profile({ identity: 'nobody' }), NOT_FOUND);
    assert.deepEqual(await ct.profile({ email: 'nobody@example.com' }), NOT_FOUND);
    const objectId = `__${'0'.repeat(32)}`;
    assert.deepEqual(await ct.profile({ objectId }), NOT_FOUND);
  });

  it('identities and emails with + (the client sends + unencoded) are found', async () => {
    const { id, ct } = await newAccount();
    await uploadOk(ct, [
      {
        type: 'profile',
        identity: 'bob+tag@example.com',
        ts: T.d1_0800,
        profileData: { Email: 'bob+news@example.com' },
      },
      profileRec('+4915112345678', { Name: 'Ph' }),
      profileRec('Jane Doe', { Name: 'Jane' }),
    ]);
    const byIdentity = await profileRecord(ct, { identity: 'bob+tag@example.com' });
    assert.equal(byIdentity.identity, 'bob+tag@example.com');
    assert.equal(byIdentity.email, 'bob+news@example.com');
    assert.deepEqual(await profileRecord(ct, { email: 'bob+news@example.com' }), byIdentity);
    const phone = await profileRecord(ct, { identity: '+4915112345678' });
    assert.equal(phone.identity, '+4915112345678');
    // A space goes out as %20 and stays a space.
    assert.equal((await profileRecord(ct, { identity: 'Jane Doe' })).identity, 'Jane Doe');

    // What arrived: a standard query parser turned each + into a space.
    const sent = (await journal(id, '/1/profile.json')).map((e) => e.query);
    assert.deepEqual(sent, [
      { identity: 'bob tag@example.com' },
      { email: 'bob news@example.com' },
      { identity: ' 4915112345678' },
      { identity: 'Jane Doe' },
    ]);
  });
});

// ---- downloads, counts, top, trends -----------------------------------------------------------

describe('downloads and counts over one data set', () => {
  // Played: p1 three times (two on Jan 1, one on Jan 2), p2 once on Jan 1, p3 once on Jan 5.
  const played = [
    { identity: 'p1', ts: T.d1_1000, props: { level: 1, mode: 'easy' }, packed: 20240101100000 },
    { identity: 'p1', ts: T.d1_1130, props: { level: 2, mode: 'hard' }, packed: 20240101113000 },
    { identity: 'p2', ts: T.d1_1200, props: { level: 3, mode: 'easy' }, packed: 20240101120000 },
    { identity: 'p1', ts: T.d2_0915, props: { level: 4, mode: 'easy' }, packed: 20240102091530 },
    { identity: 'p3', ts: T.d5_0800, props: { level: 5, mode: 'hard' }, packed: 20240105080000 },
  ];
  const JAN_1_2 = { event_name: 'Played', from: 20240101, to: 20240102 };
  const JANUARY = { event_name: 'Played', from: 20240101, to: 20240131 };
  let account;
  let ct;

  before(async () => {
    ({ id: account, ct } = await newAccount());
    await uploadOk(ct, [
      profileRec('p1', { Name: 'P1', Email: 'p1@example.com', Tier: 'gold' }),
      profileRec('p2', { Name: 'P2', Tier: 'silver' }),
      profileRec('p3', { Name: 'P3', Tier: 'gold' }),
      ...played.map((e) => eventRec(e.identity, 'Played', e.ts, e.props)),
      eventRec('p2', 'Paused', T.d1_1300, { level: 3 }),
    ]);
  });

  it('events: GET cursor download with batchSize 1 returns every event, ts packed', async () => {
    const records = await ct.events(JAN_1_2, { batchSize: 1 });
    assert.ok(Array.isArray(records), `events() resolved ${JSON.stringify(records)}`);
    assert.deepEqual(
      records
        .slice()
        .sort(byTs)
        .map((r) => [r.profile.identity, r.ts, r.event_props]),
      played.slice(0, 4).map((e) => [e.identity, e.packed, e.props]),
    );
    const p1 = await profileRecord(ct, { identity: 'p1' });
    const first = records.find((r) => r.ts === 20240101100000);
    assert.equal(first.profile.objectId, p1.platformInfo[0].objectId);
    assert.equal(first.profile.email, 'p1@example.com');
    assert.deepEqual(first.profile.profileData, p1.profileData);
    assert.deepEqual(first.session_props, {});

    // The client created the cursor with GET ?batch_size=1&query=..., then read one page per
    // record; the page with the last record has no next_cursor.
    const requests = await journal(account, '/1/events.json');
    assert.equal(requests.length, 1 + 4, JSON.stringify(requests.map((r) => r.query)));
    assert.ok(requests.every((r) => r.method === 'GET' && r.status === 200));
    assert.equal(requests[0].query.batch_size, '1');
    assert.deepEqual(JSON.parse(requests[0].query.query), JAN_1_2);
    assert.ok(requests.slice(1).every((r) => typeof r.query.cursor === 'string'));
  });

  it('events: the whole month, default batch size, and an event_properties filter', async () => {
    const all = await ct.events(JANUARY);
    assert.equal(all.length, 5);
    const hardOnes = await ct.events({
      ...JANUARY,
      event_properties: [{ name: 'mode', operator: 'equals', value: 'hard' }],
    });
    assert.deepEqual(hardOnes.map((r) => r.ts).sort(), [20240101113000, 20240105080000]);
    const above2 = await ct.events({
      ...JAN_1_2,
      event_properties: [{ name: 'level', operator: 'greater_than', value: 2 }],
    }, { batchSize: 1 });
    assert.deepEqual(above2.map((r) => r.event_props.level).sort(), [3, 4]);
  });

  it('profiles: cursor download gives the profile.json records of who did the event', async () => {
    const records = await ct.profiles(JAN_1_2, { batchSize: 1 });
    assert.ok(Array.isArray(records), `profiles() resolved ${JSON.stringify(records)}`);
    const byIdentity = Object.fromEntries(records.map((r) => [r.identity, r]));
    assert.deepEqual(Object.keys(byIdentity).sort(), ['p1', 'p2']);
    assert.deepEqual(byIdentity.p1, await profileRecord(ct, { identity: 'p1' }));
    assert.deepEqual(byIdentity.p2, await profileRecord(ct, { identity: 'p2' }));

    const gold = await ct.profiles({
      ...JANUARY,
      common_profile_properties: {
        profile_fields: [{ name: 'Tier', operator: 'equals', value: 'gold' }],
      },
    });
    assert.deepEqual(sorted(gold.map((r) => r.identity)), ['p1', 'p3']);
  });

  it('getEventsCount and getProfilesCount', async () => {
    assert.deepEqual(await ct.getEventsCount(JAN_1_2), { status: 'success', count: 4 });
    assert.deepEqual(await ct.getEventsCount(JANUARY), { status: 'success', count: 5 });
    assert.deepEqual(
      await ct.getEventsCount({
        ...JAN_1_2,
        event_properties: [{ name: 'mode', operator: 'equals', value: 'easy' }],
      }),
      { status: 'success', count: 3 },
    );
    assert.deepEqual(
      await ct.getEventsCount({ event_name: 'Played', from: 20240103, to: 20240104 }),
      { status: 'success', count: 0 },
    );
    assert.deepEqual(await ct.getProfilesCount(JAN_1_2), { status: 'success', count: 2 });
    assert.deepEqual(await ct.getProfilesCount(JANUARY), { status: 'success', count: 3 });
  });

  it('topPropertyCounts', async () => {
    const res = await ct.topPropertyCounts({
      ...JAN_1_2,
      groups: { modes: { property_type: 'event_properties', name: 'mode' } },
    });
    assert.deepEqual(res, { status: 'success', modes: { STR: { easy: 3, hard: 1 } } });
  });

  it('trends: daily, weekly and monthly, counted and unique', async () => {
    const groups = {
      day: { trend_type: 'daily' },
      week: { trend_type: 'weekly' },
      month: { trend_type: 'monthly' },
    };
    assert.deepEqual(await ct.trends({ ...JAN_1_2, unique: false, groups }), {
      status: 'success',
      day: { 20240101: 3, 20240102: 1 },
      week: { 202401: 4 },
      month: { 202401: 4 },
    });
    assert.deepEqual(await ct.trends({ ...JAN_1_2, unique: true, groups }), {
      status: 'success',
      day: { 20240101: 2, 20240102: 1 },
      week: { 202401: 2 },
      month: { 202401: 2 },
    });
  });
});

describe('download pages not ready', () => {
  it('cursor_not_ready_polls: the client stops at a code 2 page; a retry answers', async () => {
    const { id, ct } = await newAccount({ cursor_not_ready_polls: 1 });
    await uploadOk(ct, [
      { type: 'event', identity: 'n1', ts: T.d1_1000, evtName: 'Played', evtData: { n: 1 } },
      { type: 'event', identity: 'n2', ts: T.d1_1200, evtName: 'Played', evtData: { n: 2 } },
    ]);
    const query = { event_name: 'Played', from: 20240101, to: 20240101 };
    // The client ends its loop on a page without a cursor, so it resolves what it had: nothing.
    assert.deepEqual(await ct.events(query, { batchSize: 1 }), []);
    const [create, page] = await journal(id, '/1/events.json');
    assert.equal(create.response.status, 'success', JSON.stringify(create.response));
    assert.deepEqual(page.response, {
      status: 'fail',
      error: 'Request still in progress, please retry later',
      code: 2,
    });
    assert.equal(page.query.cursor, create.response.cursor);

    // Retrying the same cursor: each page is "not ready" once, then answers.
    const get = async (cursor) => {
      const response = await fetch(`${EMULATOR_URL}/1/events.json?cursor=${cursor}`, {
        headers: { 'X-CleverTap-Account-Id': id, 'X-CleverTap-Passcode': 'p' },
      });
      assert.equal(response.status, 200);
      return response.json();
    };
    const first = await get(create.response.cursor);
    assert.equal(first.status, 'success', JSON.stringify(first));
    assert.deepEqual(first.records.map((r) => r.event_props), [{ n: 1 }]);
    assert.equal((await get(first.next_cursor)).code, 2);
    const last = await get(first.next_cursor);
    assert.deepEqual(last.records.map((r) => r.event_props), [{ n: 2 }]);
    assert.equal('next_cursor' in last, false, JSON.stringify(last));
    assert.equal('cursor' in last, false, JSON.stringify(last));
  });
});

describe('reports', () => {
  it('realTimeCounts counts the users active in the last minutes', async () => {
    const { ct } = await newAccount();
    // r1 and r2 now (ts defaulted to the emulator clock), r3 long ago.
    await uploadOk(ct, [
      { type: 'event', identity: 'r1', evtName: 'Ping', evtData: {} },
      { type: 'event', identity: 'r1', evtName: 'Ping', evtData: {} },
      { type: 'event', identity: 'r2', evtName: 'Ping', evtData: {} },
      { type: 'event', identity: 'r3', ts: T.d1_1000, evtName: 'Ping', evtData: {} },
    ]);
    const res = await ct.realTimeCounts({});
    assert.equal(res.status, 'success', JSON.stringify(res));
    assert.equal(res.count, 2);
    assert.ok(Number.isInteger(res.last_processed_ts), JSON.stringify(res));
    const { now } = await controlOk('GET', '/clock');
    assert.ok(Math.abs(res.last_processed_ts - now) <= 300, `${res.last_processed_ts} vs ${now}`);
    // r1 and r2 were created by those events: both new.
    const split = await ct.realTimeCounts({ user_type: true });
    assert.equal(split.count, 2, JSON.stringify(split));
    assert.deepEqual(split.user_type, { New: 2, Returning: 0 });
  });

  it('report_polls: counts answer partial + req_id; polling the same path answers', async () => {
    const { id, ct } = await newAccount({ report_polls: 2 });
    await uploadOk(ct, [
      { type: 'event', identity: 'q1', ts: T.d1_1000, evtName: 'Played', evtData: {} },
    ]);
    const query = { event_name: 'Played', from: 20240101, to: 20240101 };
    // The client does not poll: it resolves the partial answer as it is.
    const first = await ct.getEventsCount(query);
    assert.equal(first.status, 'partial', JSON.stringify(first));
    assert.deepEqual(Object.keys(first).sort(), ['req_id', 'status']);
    assert.ok(Number.isInteger(first.req_id), JSON.stringify(first));

    const poll = async (method) => {
      const url = `${EMULATOR_URL}/1/counts/events.json?req_id=${first.req_id}`;
      const headers = { 'X-CleverTap-Account-Id': id, 'X-CleverTap-Passcode': 'p' };
      const response = await fetch(url, { method, headers });
      assert.equal(response.status, 200);
      return response.json();
    };
    // report_polls 2: the first call and the first poll are partial, the second poll answers.
    assert.deepEqual(await poll('GET'), { status: 'partial', req_id: first.req_id });
    assert.deepEqual(await poll('POST'), { status: 'success', count: 1 });

    // Every new count is deferred the same way.
    const again = await ct.getProfilesCount(query);
    assert.equal(again.status, 'partial', JSON.stringify(again));
    assert.notEqual(again.req_id, first.req_id);
  });
});

// ---- profile management -----------------------------------------------------------------------

describe('profile management', () => {
  it('delete by identity and by guid: the profile and its events go', async () => {
    const { id, ct } = await newAccount();
    await uploadOk(ct, [
      { type: 'profile', identity: 'd1', ts: T.d1_0800, profileData: { Name: 'D1' } },
      { type: 'profile', identity: 'd2', ts: T.d1_0800, profileData: { Name: 'D2' } },
      { type: 'event', identity: 'd1', ts: T.d1_1000, evtName: 'Bought', evtData: {} },
      { type: 'event', identity: 'd2', ts: T.d1_1000, evtName: 'Bought', evtData: {} },
    ]);
    const d2ObjectId = await objectIdOf(ct, 'd2');

    assert.deepEqual(await ct.delete({ identity: 'd1' }), { status: 'success' });
    assert.deepEqual(await ct.profile({ identity: 'd1' }), NOT_FOUND);
    assert.equal((await view(id, 'events', { identity: 'd1' })).total, 0);
    assert.equal((await profileRecord(ct, { identity: 'd2' })).identity, 'd2');
    const count = { event_name: 'Bought', from: 20240101, to: 20240101 };
    assert.deepEqual(await ct.getEventsCount(count), { status: 'success', count: 1 });

    assert.deepEqual(await ct.delete({ guid: [d2ObjectId] }), { status: 'success' });
    assert.deepEqual(await ct.profile({ identity: 'd2' }), NOT_FOUND);
    assert.deepEqual(await ct.profile({ objectId: d2ObjectId }), NOT_FOUND);
    assert.equal((await view(id, 'profiles')).total, 0);
    assert.deepEqual(await ct.getEventsCount(count), { status: 'success', count: 0 });
  });

  it('merge by profileData.identity, then demerge', async () => {
    const { id, ct } = await newAccount();
    await uploadOk(ct, [
      { type: 'profile', identity: 'm1', ts: T.d1_0800, profileData: { Name: 'M' } },
      { type: 'profile', identity: 'm2', ts: T.d1_0800, profileData: { City: 'Oslo' } },
    ]);
    const m1ObjectId = await objectIdOf(ct, 'm1');
    const m2ObjectId = await objectIdOf(ct, 'm2');
    assert.notEqual(m1ObjectId, m2ObjectId);

    // m2's profile claims m1: m1's profile survives and absorbs m2's.
    await uploadOk(ct, [
      { type: 'profile', identity: 'm2', ts: T.d1_1000, profileData: { identity: 'm1' } },
    ]);
    const merged = await profileRecord(ct, { identity: 'm2' });
    assert.deepEqual(sorted(merged.identities), ['m1', 'm2']);
    assert.deepEqual(
      sorted(merged.platformInfo.map((p) => p.objectId)),
      sorted([m1ObjectId, m2ObjectId]),
    );
    assert.equal(merged.profileData.Name, 'M');
    assert.equal(merged.profileData.City, 'Oslo');
    assert.deepEqual(await profileRecord(ct, { identity: 'm1' }), merged);
    assert.equal((await view(id, 'merges')).total, 1);
    assert.equal((await view(id, 'profiles')).total, 1);

    assert.deepEqual(await ct.demerge({ identities: ['m2'] }), { status: 'success' });
    const m1 = await profileRecord(ct, { identity: 'm1' });
    const m2 = await profileRecord(ct, { identity: 'm2' });
    assert.deepEqual(m1.identities, ['m1']);
    assert.deepEqual(m2.identities, ['m2']);
    assert.deepEqual(m2.platformInfo.map((p) => p.objectId), [m2ObjectId]);
    assert.deepEqual(m1.platformInfo.map((p) => p.objectId), [m1ObjectId]);
    // Properties stay with the survivor.
    assert.deepEqual(m1.profileData, { Name: 'M', City: 'Oslo' });
    assert.deepEqual(m2.profileData, {});
    assert.equal((await view(id, 'profiles')).total, 2);
    assert.equal((await view(id, 'merges')).total, 2, 'the merge and the demerge are recorded');
  });

  it('subscribe: Unsubscribe/Resubscribe set MSG-* on every profile with the value', async () => {
    const { ct } = await newAccount();
    await uploadOk(ct, [
      profileRec('s1', { Email: 'shared@example.com', Phone: '+14155550101' }),
      profileRec('s2', { Email: 'shared@example.com' }),
      profileRec('s3', { Email: 'other@example.com' }),
    ]);
    const res = await ct.subscribe({
      d: [
        { type: 'email', value: 'shared@example.com', status: 'Unsubscribe' },
        { type: 'phone', value: '+14155550101', status: 'Unsubscribe' },
      ],
    });
    assert.deepEqual(res, SUCCESS(2));
    const s1 = await profileRecord(ct, { identity: 's1' });
    const s2 = await profileRecord(ct, { identity: 's2' });
    const s3 = await profileRecord(ct, { identity: 's3' });
    assert.equal(s1.profileData['MSG-email'], false);
    assert.equal(s1.profileData['MSG-sms'], false);
    assert.equal(s2.profileData['MSG-email'], false);
    assert.equal(s3.profileData['MSG-email'], undefined);

    assert.deepEqual(
      await ct.subscribe({
        d: [{ type: 'email', value: 'shared@example.com', status: 'Resubscribe' }],
      }),
      SUCCESS(1),
    );
    assert.equal((await profileRecord(ct, { identity: 's1' })).profileData['MSG-email'], true);
    assert.equal((await profileRecord(ct, { identity: 's2' })).profileData['MSG-email'], true);
  });

  it('disassociate removes the phone from the profile', async () => {
    const { ct } = await newAccount();
    await uploadOk(ct, [
      profileRec('x1', { Name: 'X', Phone: '+14155550102' }),
    ]);
    const before = await profileRecord(ct, { identity: 'x1' });
    assert.equal(before.phone, '+14155550102');
    assert.equal(before.profileData.Phone, '+14155550102');

    const res = await ct.disassociate({ d: [{ type: 'phone', value: '+14155550102' }] });
    assert.deepEqual(res, SUCCESS(1));
    const afterwards = await profileRecord(ct, { identity: 'x1' });
    assert.equal('Phone' in afterwards.profileData, false, JSON.stringify(afterwards));
    assert.equal('phone' in afterwards, false, JSON.stringify(afterwards));
    assert.equal(afterwards.profileData.Name, 'X');
  });

  it('uploadDeviceTokens: an fcm token on an Android id; apns on it is 534', async () => {
    const { ct } = await newAccount();
    await uploadOk(ct, [profileRec('t1', { Name: 'T' })]);
    const objectId = await objectIdOf(ct, 't1');
    assert.match(objectId, /^__/);

    const ok = await ct.uploadDeviceTokens([
      { type: 'token', objectId, tokenData: { id: 'fcm-token-1', type: 'fcm' } },
    ]);
    assert.deepEqual(ok, SUCCESS(1));
    const record = await profileRecord(ct, { objectId });
    assert.deepEqual(
      record.platformInfo.map((p) => [p.objectId, p.push_token]),
      [[objectId, 'fcm-token-1']],
    );

    const bad = { type: 'token', objectId, tokenData: { id: 'apns-token-1', type: 'apns' } };
    const res = await ct.uploadDeviceTokens([bad]);
    // The echoed record is the normalised copy: the defaulted ts is filled in.
    const echoedTs = res.unprocessed?.[0]?.record?.ts;
    assert.ok(Number.isInteger(echoedTs), JSON.stringify(res));
    const { now } = await controlOk('GET', '/clock');
    assert.ok(Math.abs(echoedTs - now) <= 300, `${echoedTs} vs ${now}`);
    assert.deepEqual(res, {
      status: 'fail',
      processed: 0,
      unprocessed: [
        {
          status: 'fail',
          code: 534,
          error: 'Token type is not valid for objectId.Skipped record number : 1',
          record: { ...bad, ts: echoedTs },
        },
      ],
    });
  });
});

// ---- campaigns --------------------------------------------------------------------------------

describe('campaigns', () => {
  it('targets estimate/create/list/result/stop, message reports, captured audiences', async () => {
    const { id, ct } = await newAccount();
    // Push reaches profiles with a push token, email those with an Email.
    await uploadOk(ct, [
      { type: 'profile', identity: 'c1', ts: T.d1_0800, profileData: { Email: 'c1@example.com' } },
      { type: 'profile', identity: 'c2', ts: T.d1_0800, profileData: { Name: 'C2' } },
      { type: 'profile', identity: 'c3', ts: T.d1_0800, profileData: { Email: 'c3@example.com' } },
      { type: 'profile', identity: 'c4', ts: T.d1_0800, profileData: { Name: 'C4' } },
      ...['c1', 'c2', 'c3'].map((identity) => ({
        type: 'event',
        identity,
        ts: T.d1_1000,
        evtName: 'Played',
        evtData: {},
      })),
    ]);
    const tokens = [];
    for (const identity of ['c1', 'c2']) {
      const objectId = await objectIdOf(ct, identity);
      tokens.push({ type: 'token', objectId, tokenData: { id: `fcm-${identity}`, type: 'fcm' } });
    }
    assert.deepEqual(await ct.uploadDeviceTokens(tokens), SUCCESS(2));

    const content = { title: 'Hello', body: 'Come back' };
    const where = { event_name: 'Played', from: 20240101, to: 20240101 };
    const push = { target_mode: 'push', where, content, devices: ['android', 'ios'] };

    const estimate = await ct.targets(ct.TARGET_ESTIMATE, { name: 'estimate only', ...push });
    assert.deepEqual(estimate, { status: 'success', estimates: { android: 2, ios: 0 } });
    assert.equal((await view(id, 'campaigns')).total, 0, 'an estimate captures nothing');

    const now = await ct.targets(ct.TARGET_CREATE, { name: 'players push', ...push, when: 'now' });
    assert.equal(now.status, 'success', JSON.stringify(now));
    assert.ok(Number.isInteger(now.id), JSON.stringify(now));
    assert.deepEqual(now.estimates, { android: 2, ios: 0 });

    const later = await ct.targets(ct.TARGET_CREATE, {
      name: 'everyone later',
      target_mode: 'email',
      segment: 'all',
      content,
      devices: ['android'],
      when: '20991231 10:00',
    });
    assert.equal(later.status, 'success', JSON.stringify(later));
    assert.ok(Number.isInteger(later.id), JSON.stringify(later));
    assert.notEqual(later.id, now.id);

    // Captured (never sent), each with its resolved audience.
    const { campaigns, total } = await view(id, 'campaigns');
    assert.equal(total, 2);
    const captured = Object.fromEntries(campaigns.map((c) => [c.id, c]));
    assert.equal(captured[now.id].name, 'players push');
    assert.deepEqual(audienceIdentities(captured[now.id]), ['c1', 'c2']);
    assert.equal(captured[later.id].name, 'everyone later');
    assert.deepEqual(audienceIdentities(captured[later.id]), ['c1', 'c3']);

    const listed = async () => {
      const list = await ct.targets(ct.TARGET_LIST, { from: 20000101, to: 20991231 });
      assert.equal(list.status, 'success', JSON.stringify(list));
      return list.targets
        .map((t) => [t.id, t.name, t.status])
        .sort((a, b) => a[0] - b[0]);
    };
    assert.deepEqual(await listed(), [
      [now.id, 'players push', 'completed'],
      [later.id, 'everyone later', 'scheduled'],
    ]);

    const result = await ct.targets(ct.TARGET_RESULT, { id: now.id });
    assert.equal(result.status, 'success', JSON.stringify(result));
    assert.equal(result.result.sent, 2, JSON.stringify(result));
    assert.deepEqual(await ct.targets(ct.TARGET_RESULT, { id: later.id }), {
      status: 'fail',
      error: "This target hasn't been completed",
    });

    assert.deepEqual(await ct.targets(ct.TARGET_STOP, { id: later.id }), { status: 'success' });
    assert.deepEqual(await listed(), [
      [now.id, 'players push', 'completed'],
      [later.id, 'everyone later', 'stopped'],
    ]);

    const reports = await ct.getMessageReports({ from: 20000101, to: 20991231 });
    assert.equal(reports.status, 'success', JSON.stringify(reports));
    assert.deepEqual(
      reports.messages
        .map((m) => [m['message id'], m['message name'], m.channel, m.status])
        .sort((a, b) => a[0] - b[0]),
      [
        [now.id, 'players push', 'push', 'completed'],
        [later.id, 'everyone later', 'email', 'stopped'],
      ],
    );
  });
});

/** The identities of a captured campaign's audience, sorted. */
function audienceIdentities(campaign) {
  assert.ok(campaign, 'campaign not captured');
  const { audience } = campaign;
  assert.ok(Array.isArray(audience), `no audience array: ${JSON.stringify(campaign)}`);
  return sorted(audience.map((member) => member.identity));
}

// ---- rate limits --------------------------------------------------------------------------

describe('rate limits', () => {
  // https://developer.clevertap.com/docs/api-request-limit: at most 15 upload requests of an
  // account at the same time; beyond that 429 "Too many concurrent requests". The client resolves
  // a 429 body as the batch's answer (it never retries), so the caller re-sends those batches.
  test(
    '40 concurrent 1000-record uploads: some 429, retried to completion, each record once',
    { timeout: 120000 },
    async () => {
      const { id } = await newAccount();
      // Each upload holds its place for 30 ms, so concurrency is visible whatever the
      // machine's speed (docs/clevertap-behaviour.md).
      const fault = await controlOk('POST', '/faults', {
        platform: 'clevertap',
        tenant: id,
        path: '/1/upload',
        latency_ms: 30,
      });
      const WORKERS = 40;
      const RECORDS = 1000;
      const BATCH = 100; // the client's batch size: responses[i] answers records[i*100..]
      const refusals = [];
      try {
        await Promise.all(
          Array.from({ length: WORKERS }, async (_, worker) => {
            const ct = client(id, 'p');
            const records = Array.from({ length: RECORDS }, (__, n) =>
              eventRec(`w${worker}`, 'Rate Limited', T.d1_0800, { n: worker * RECORDS + n }),
            );
            let pending = [];
            for (let i = 0; i < RECORDS; i += BATCH) pending.push(records.slice(i, i + BATCH));
            for (let attempt = 0; pending.length > 0; attempt += 1) {
              assert.ok(attempt < 500, `worker ${worker}: still refused after 500 rounds`);
              const answers = [].concat(await ct.upload(pending.flat()));
              const again = [];
              answers.forEach((answer, i) => {
                if (answer.code === 429) {
                  refusals.push(answer);
                  again.push(pending[i]);
                } else {
                  assert.equal(answer.status, 'success', JSON.stringify(answer));
                }
              });
              pending = again;
              if (pending.length > 0) await new Promise((r) => setTimeout(r, 10 + (worker % 7) * 5));
            }
          }),
        );
      } finally {
        await control('DELETE', `/faults/${fault.id}`);
      }
      assert.ok(refusals.length > 0, 'no upload was refused');
      assert.deepEqual(refusals[0], {
        status: 'fail',
        error: 'Too many concurrent requests',
        code: 429,
      });
      const page = await view(id, 'events', { limit: '1' });
      assert.equal(page.total, WORKERS * RECORDS);
    },
  );
});
