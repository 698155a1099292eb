// The emulator's control API for the node client suites (tests/clients/node/*.test.mjs).

import assert from 'node:assert/strict';

export const EMULATOR_URL = (process.env.EMULATOR_URL || '').replace(/\/+$/, '');
if (!EMULATOR_URL) {
  throw new Error('set EMULATOR_URL to the emulator base URL, e.g. http://127.0.0.1:8787');
}
// Only needed when the emulator runs with --admin-token.
export const ADMIN_TOKEN = process.env.EMULATOR_ADMIN_TOKEN || '';

/** A control call: `{status, body}` with the body parsed when it is JSON. */
export async function control(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ADMIN_TOKEN) headers['X-Emulator-Token'] = ADMIN_TOKEN;
  const response = await fetch(`${EMULATOR_URL}/_emulator${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: response.status, body: parsed };
}

/** A control call that must succeed (2xx); answers the body. */
export async function controlOk(method, path, body) {
  const { status, body: answer } = await control(method, path, body);
  assert.ok(
    status >= 200 && status < 300,
    `${method} /_emulator${path} answered ${status}: ${JSON.stringify(answer)}`,
  );
  return answer;
}
