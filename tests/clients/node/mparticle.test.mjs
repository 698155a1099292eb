// The real npm client `mparticle@1.0.8` against the emulator's Events API.
//
// Run through pytest (tests/clients/test_mparticle_npm.py starts the emulator and sets EMULATOR_URL), or
// by hand against a running emulator:
//   npm ci && EMULATOR_URL=http://127.0.0.1:8787 node --test tests/clients/node/mparticle.test.mjs
//
// The client is pointed at the emulator as docs/mparticle-behaviour.md says: set
// `api.apiClient.basePath` on the EventsApi instance. Every test but the README snippet works in a
// workspace of its own, created through the control API, so it sees only its own batches and
// needs nothing from the other node test files. Expected bodies are written out by hand from what
// the client sends (JSON.stringify of its models), and read back from the control API.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { EMULATOR_URL, control, controlOk } from './control.mjs';

const require = createRequire(import.meta.url);
const mParticle = require('mparticle');


const TEST_TIMEOUT_MS = 10000;
const USER_AGENT = 'node-superagent/3.8.3';
const T0 = 1704103200000; // 2024-01-01 10:00:00 UTC, in ms

const it = (name, fn) => test(name, { timeout: TEST_TIMEOUT_MS }, fn);

// ---- control API (helpers in control.mjs) ------------------------------------------------

/** Rows a workspace accepted, oldest first: {received, input, historical, batch}. */
async function storedRows(workspace) {
  const page = await controlOk(
    'GET',
    `/mparticle/${encodeURIComponent(workspace)}/batches?limit=1000`,
  );
  assert.equal(page.total, page.batches.length);
  return page.batches;
}

/** Journal entries of one workspace, oldest first. */
async function journal(workspace) {
  const qs = new URLSearchParams({ platform: 'mparticle', tenant: workspace, limit: '1000' });
  const answer = await controlOk('GET', `/requests?${qs}`);
  return answer.requests;
}

// ---- workspaces and clients ---------------------------------------------------------------

const RUN_ID = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const createdWorkspaces = [];
let workspaceSeq = 0;

function eventsApi(key, secret) {
  const api = new mParticle.EventsApi(new mParticle.Configuration(key, secret));
  api.apiClient.basePath = `${EMULATOR_URL}/v2`;
  return api;
}

/** A fresh workspace with one s2s input (control API), and a client for that input. */
async function newWorkspace() {
  workspaceSeq += 1;
  const id = `npm-mp-${RUN_ID}-${workspaceSeq}`;
  const key = `key-${RUN_ID}-${workspaceSeq}`;
  const secret = `secret-${workspaceSeq}`;
  const doc = { kind: 'mparticle_workspace', id, inputs: [{ kind: 's2s', key, secret }] };
  const { status, body } = await control('POST', '/tenants', doc);
  assert.equal(status, 201, `creating workspace ${id}: ${JSON.stringify(body)}`);
  createdWorkspaces.push(id);
  return { id, key, secret, api: eventsApi(key, secret) };
}

after(async () => {
  for (const id of createdWorkspaces) await control('DELETE', `/tenants/${encodeURIComponent(id)}`);
});

/** Call an upload method; resolves to the callback's (error, data, response). */
function call(api, method, body) {
  return new Promise((resolve) => {
    api[method](body, (error, data, response) => resolve({ error, data, response }));
  });
}

async function accepted(api, method, body) {
  const { error, data, response } = await call(api, method, body);
  assert.equal(error, null, `${method}: ${error && error.status} ${error && error.message}`);
  assert.equal(data, null);
  assert.equal(response.status, 202);
  return response;
}

// ---- batches --------------------------------------------------------------------------------

function fullBatch() {
  const batch = new mParticle.Batch(mParticle.Batch.Environment.development);

  const clicked = new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.navigation, 'Clicked');
  clicked.timestamp_unixtime_ms = T0;
  clicked.custom_attributes = { button: 'signup', count: 3, ratio: 0.5, first: true };
  batch.addEvent(clicked);

  const screen = new mParticle.ScreenViewEvent('Home');
  screen.timestamp_unixtime_ms = T0 + 1000;
  batch.addEvent(screen);

  const shoe = new mParticle.Product('sku-1', 'Shoe', 10.5);
  shoe.brand = 'Acme';
  shoe.quantity = 2;
  const sock = new mParticle.Product('sku-2', 'Sock', 1.25);
  sock.quantity = 1;
  const action = new mParticle.ProductAction(
    mParticle.ProductAction.Action.purchase,
    't-1',
    22.25,
    [shoe, sock],
  );
  action.tax_amount = 1;
  const purchase = new mParticle.CommerceEvent();
  purchase.product_action = action;
  purchase.currency_code = 'USD';
  purchase.timestamp_unixtime_ms = T0 + 2000;
  batch.addEvent(purchase);

  // Unlike the Python client, this one types a crash report as crash_report.
  const crash = new mParticle.CrashReportEvent('NullPointerException', 'boom');
  crash.timestamp_unixtime_ms = T0 + 3000;
  batch.addEvent(crash);

  batch.source_request_id = 'req-node-1';
  batch.user_identities = new mParticle.UserIdentities();
  batch.user_identities.customerid = 'cust-1';
  batch.user_identities.email = 'cust-1@example.com';
  batch.user_attributes = { $firstname: 'Ada', plan: 'pro', foods: ['pizza', 'sushi'] };
  const device = new mParticle.DeviceInformation();
  device.platform = mParticle.DeviceInformation.Platform.iOS;
  device.os_version = '17.2';
  batch.device_info = device;
  return batch;
}

// What the client sends for fullBatch(): only the keys that were set (undefined ones vanish in
// JSON.stringify), `customerid` as the client names it.
const FULL_EXPECTED = {
  environment: 'development',
  events: [
    {
      event_type: 'custom_event',
      data: {
        custom_event_type: 'navigation',
        event_name: 'Clicked',
        timestamp_unixtime_ms: T0,
        custom_attributes: { button: 'signup', count: 3, ratio: 0.5, first: true },
      },
    },
    { event_type: 'screen_view', data: { screen_name: 'Home', timestamp_unixtime_ms: T0 + 1000 } },
    {
      event_type: 'commerce_event',
      data: {
        product_action: {
          action: 'purchase',
          transaction_id: 't-1',
          total_amount: 22.25,
          products: [
            { id: 'sku-1', name: 'Shoe', price: 10.5, brand: 'Acme', quantity: 2 },
            { id: 'sku-2', name: 'Sock', price: 1.25, quantity: 1 },
          ],
          tax_amount: 1,
        },
        currency_code: 'USD',
        timestamp_unixtime_ms: T0 + 2000,
      },
    },
    {
      event_type: 'crash_report',
      data: { class_name: 'NullPointerException', message: 'boom', timestamp_unixtime_ms: T0 + 3000 },
    },
  ],
  source_request_id: 'req-node-1',
  user_identities: { customerid: 'cust-1', email: 'cust-1@example.com' },
  user_attributes: { $firstname: 'Ada', plan: 'pro', foods: ['pizza', 'sushi'] },
  device_info: { platform: 'iOS', os_version: '17.2' },
};

function smallBatch(customerId, eventName) {
  const batch = new mParticle.Batch(mParticle.Batch.Environment.production);
  batch.user_identities = new mParticle.UserIdentities();
  batch.user_identities.customerid = customerId;
  batch.addEvent(new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.other, eventName));
  return batch;
}

const smallExpected = (customerId, eventName) => ({
  environment: 'production',
  events: [
    { event_type: 'custom_event', data: { custom_event_type: 'other', event_name: eventName } },
  ],
  user_identities: { customerid: customerId },
});

// ---- uploads --------------------------------------------------------------------------------

describe('uploads', () => {
  it('the README snippet works with the default workspace', async () => {
    const api = eventsApi('emu-s2s-key', 'emu-s2s-secret');
    const name = `Clicked ${RUN_ID}`;
    const batch = new mParticle.Batch(mParticle.Batch.Environment.development);
    batch.addEvent(new mParticle.AppEvent(mParticle.AppEvent.CustomEventType.navigation, name));
    await accepted(api, 'uploadEvents', batch);

    const rows = await storedRows('1000');
    const mine = rows.filter((row) => row.batch.events?.[0]?.data?.event_name === name);
    assert.equal(mine.length, 1, `no stored batch with event ${name}`);
    assert.equal(mine[0].input, 'emu-s2s-key');
  });

  it('uploadEvents: a full batch is accepted and stored as sent', async () => {
    const { id, key, secret, api } = await newWorkspace();
    await accepted(api, 'uploadEvents', fullBatch());

    const [row, ...more] = await storedRows(id);
    assert.deepEqual(more, []);
    assert.equal(row.input, key);
    assert.equal(row.historical, false);
    assert.equal(typeof row.received, 'number');
    // Field by field (a readable failure), then the whole batch.
    assert.deepEqual(Object.keys(row.batch).sort(), Object.keys(FULL_EXPECTED).sort());
    for (const [field, value] of Object.entries(FULL_EXPECTED)) {
      assert.deepEqual(row.batch[field], value, field);
    }
    assert.deepEqual(row.batch, FULL_EXPECTED);

    const [entry, ...others] = await journal(id);
    assert.deepEqual(others, []);
    assert.equal(entry.method, 'POST');
    assert.equal(entry.path, '/v2/events');
    assert.equal(entry.status, 202);
    assert.equal(entry.valid, true);
    assert.deepEqual(entry.validation.errors, []);
    assert.deepEqual(entry.body, FULL_EXPECTED);
    assert.equal(entry.headers['user-agent'], USER_AGENT);
    assert.equal(entry.headers.authorization, `Basic ${key}:***`);
    assert.ok(!JSON.stringify(entry.headers).includes(secret), 'the secret is masked');
  });

  it('bulkUploadEvents: two batches, two stored rows in order', async () => {
    const { id, api } = await newWorkspace();
    await accepted(api, 'bulkUploadEvents', [smallBatch('b-1', 'Opened'), smallBatch('b-2', 'Closed')]);

    const rows = await storedRows(id);
    assert.deepEqual(
      rows.map((row) => row.batch),
      [smallExpected('b-1', 'Opened'), smallExpected('b-2', 'Closed')],
    );
    const [entry, ...others] = await journal(id);
    assert.deepEqual(others, []);
    assert.equal(entry.path, '/v2/bulkevents');
    assert.equal(entry.status, 202);
    assert.deepEqual(entry.body, [smallExpected('b-1', 'Opened'), smallExpected('b-2', 'Closed')]);
  });
});

// ---- errors ---------------------------------------------------------------------------------

function assertErrorsBody(body, code) {
  assert.ok(body && Array.isArray(body.errors), `not an {"errors": [...]} body: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body), ['errors']);
  assert.ok(body.errors.length >= 1);
  for (const error of body.errors) {
    assert.equal(error.code, code);
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.length > 0);
  }
}

describe('errors', () => {
  it('wrong secret: error.status 403 with an {"errors": [...]} body; nothing stored', async () => {
    const { id, key } = await newWorkspace();
    const api = eventsApi(key, 'not-the-secret');
    const { error, response } = await call(api, 'uploadEvents', smallBatch('u', 'E'));
    assert.ok(error, 'the upload should fail');
    assert.equal(error.status, 403);
    assert.equal(response.status, 403);
    assertErrorsBody(error.response.body, 'FORBIDDEN');
    assert.deepEqual(await storedRows(id), []);
    // A wrong secret proves no workspace: the 403 is journaled under none (tenant null).
    assert.deepEqual(await journal(id), []);
  });

  it('wrong secret on bulkUploadEvents: 403 too', async () => {
    const { id, key } = await newWorkspace();
    const api = eventsApi(key, 'not-the-secret');
    const { error } = await call(api, 'bulkUploadEvents', [smallBatch('u', 'E')]);
    assert.equal(error?.status, 403);
    assertErrorsBody(error.response.body, 'FORBIDDEN');
    assert.deepEqual(await storedRows(id), []);
  });

  it('empty secret: the client sends an empty Authorization header, 401', async () => {
    // Configuration.encodedHeader() answers '' when the key or the secret is empty, and
    // the client sends that: no Basic credentials at all, so "missing" (401), not "wrong" (403).
    const config = new mParticle.Configuration('emu-s2s-key', '');
    assert.equal(config.encodedHeader(), '');
    const api = eventsApi('emu-s2s-key', '');
    const { error } = await call(api, 'uploadEvents', smallBatch('u', 'E'));
    assert.equal(error?.status, 401);
    assertErrorsBody(error.response.body, 'UNAUTHORIZED');
  });

  it('429 fault: error.status 429 with Retry-After; the client does not retry', async () => {
    const { id, api } = await newWorkspace();
    // The fault contract (emulator/fault) counts firings with `times`; scoped to this workspace.
    const rule = await controlOk('POST', '/faults', {
      platform: 'mparticle',
      tenant: id,
      status: 429,
      retry_after: 1,
      times: 1,
    });
    assert.equal(rule.remaining, 1);

    const { error } = await call(api, 'uploadEvents', smallBatch('u', 'E'));
    assert.equal(error?.status, 429);
    assert.equal(error.response.headers['retry-after'], '1');
    assertErrorsBody(error.response.body, 'TOO_MANY_REQUESTS');
    assert.equal((await journal(id)).length, 1, 'one request: no retry');

    // No retry-after bookkeeping in this client: the next call goes out at once and passes.
    await accepted(api, 'uploadEvents', smallBatch('u', 'E'));
    assert.deepEqual(
      (await journal(id)).map((entry) => entry.status),
      [429, 202],
    );
    assert.deepEqual(
      (await storedRows(id)).map((row) => row.batch),
      [smallExpected('u', 'E')],
    );
  });
});
