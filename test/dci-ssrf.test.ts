import { promises as dnsPromises } from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { dciPost, idQuery, searchEnvelope, searchItem } from './helpers/dci-client.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { createTestTenant, type TestTenant } from './helpers/tenant.js';

// DCI callbacks go to a URL the caller chose (sender_uri) and carry our bearer token: with
// insecure targets not allowed, a name resolving to a loopback address — at once, or only when
// the attempt connects (DNS rebinding) — is never connected to (docs/decisions/0046, 0066).
// The app runs as configured; names are answered by a stand-in for the system resolver.

const PUBLIC = '93.184.215.14';
const SEARCH = '/dci/registry/search';

/** Answers per name: `loopback` always; `rebind` a public address the first time, loopback after. */
const asked = new Map<string, number>();
const realLookup = dnsPromises.lookup.bind(dnsPromises);
function answerFor(host: string): string | null {
  const n = (asked.get(host) ?? 0) + 1;
  if (host === 'cb.loopback.test') return '127.0.0.1';
  if (host === 'cb.rebind.test') return n === 1 ? PUBLIC : '127.0.0.1';
  return null;
}
/** Names whose resolver fails for now (SERVFAIL, timeout): not a refusal of the target. */
const FLAKY = new Set(['cb.flaky.test']);

let t: TestApp;
let a: TestTenant;
let dci: { clientId: string; secret: string; token: string };
let receiver: http.Server;
let port = 0;
let connections = 0;
const requests: string[] = [];
const nationalId = nid();

async function work() {
  await t.app.hearth.services.dispatcher.dispatchPending();
  await t.app.hearth.services.jobs.drain();
}

beforeAll(async () => {
  vi.spyOn(dnsPromises, 'lookup').mockImplementation((async (host: string, options: unknown) => {
    if (FLAKY.has(host)) throw Object.assign(new Error(`queryA ESERVFAIL ${host}`), { code: 'ESERVFAIL' });
    const address = answerFor(host);
    if (address === null) return realLookup(host, options as never);
    asked.set(host, (asked.get(host) ?? 0) + 1);
    return [{ address, family: 4 }];
  }) as typeof dnsPromises.lookup);
  // What an attacker wants reached: a server on loopback, counting every TCP connection.
  receiver = http.createServer((req, res) => {
    requests.push(req.url ?? '/');
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  receiver.on('connection', () => connections++);
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;

  t = await createTestApp({
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'false',
    HEARTH_WEBHOOK_MAX_ATTEMPTS: '3',
    HEARTH_DCI_PARTICIPANT_ID: 'registry.example.org',
  });
  a = await createTestTenant(t, { field_classification: { 'identities.identity_number': 'personal' } });
  dci = await a.client({ roles: ['integration'], scopes: ['dci:search'], name: 'spmis' });
  const person = await createPerson(t.app, a.admin.token, {
    full_name: 'Amina Wanjiru',
    gender: '2',
    identity_number: nationalId,
  });
  await grantConsent(t.app, a.admin.token, person.person_id, a.verticals.HEALTH);
  await work();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

/** An async search calling back to `host`; its callback row and attempts once the worker ran. */
async function searchCallingBack(host: string) {
  const env = searchEnvelope([searchItem(idQuery('UIN', nationalId))], {
    sender_uri: `https://${host}:${port}/cb/on-search`,
  });
  const ack = await dciPost(t.app, dci.token, SEARCH, env);
  expect(ack.statusCode, ack.body).toBe(200);
  expect(ack.json().message.ack_status).toBe('ACK');
  await work();
  const { rows: callbacks } = await t.db.query<{
    id: string;
    status: string;
    attempts: number;
    last_error: string | null;
  }>('SELECT id, status, attempts, last_error FROM dci_callbacks WHERE transaction_row = $1', [
    ack.json().message.correlation_id,
  ]);
  expect(callbacks).toHaveLength(1);
  const { rows: attempts } = await t.db.query<{ attempt: number; status_code: number | null; error: string }>(
    'SELECT attempt, status_code, error FROM dci_callback_attempts WHERE callback_id = $1 ORDER BY attempt',
    [callbacks[0].id],
  );
  const { rows: jobs } = await t.db.query<{ status: string }>(
    `SELECT status FROM jobs WHERE kind = 'dci.callback' AND payload->>'callback_id' = $1`,
    [callbacks[0].id],
  );
  return { callback: callbacks[0], attempts, jobs };
}

describe('DCI callbacks and the address rule (insecure targets not allowed)', () => {
  it('a sender_uri whose name resolves to a loopback address is never delivered; the attempt is logged as refused', async () => {
    const { callback, attempts, jobs } = await searchCallingBack('cb.loopback.test');
    expect(attempts).toEqual([
      {
        attempt: 1,
        status_code: null,
        error: 'target refused: cb.loopback.test resolves to a loopback, private or reserved address',
      },
    ]);
    // Refused is final: no retry.
    expect(callback).toMatchObject({ status: 'failed', attempts: 1 });
    expect(callback.last_error).toBe(attempts[0].error);
    expect(jobs.map((j) => j.status)).not.toContain('queued');
    expect(connections).toBe(0);
    expect(requests).toEqual([]);
  });

  it('a name answering a public address to the check and loopback to the connection (DNS rebinding) is refused as it connects', async () => {
    const { callback, attempts } = await searchCallingBack('cb.rebind.test');
    // Asked twice: by the check before the attempt (public: passed) and by the connection itself
    // (loopback: refused), which never opened a socket to the answer it refused.
    expect(asked.get('cb.rebind.test')).toBe(2);
    expect(attempts).toEqual([
      {
        attempt: 1,
        status_code: null,
        error: 'target refused: cb.rebind.test resolves to a loopback, private or reserved address',
      },
    ]);
    expect(callback).toMatchObject({ status: 'failed', attempts: 1 });
    expect(connections).toBe(0);
    expect(requests).toEqual([]);
  });

  it('a name that does not resolve for now is retried later, not given up', async () => {
    const { callback, attempts, jobs } = await searchCallingBack('cb.flaky.test');
    expect(attempts).toEqual([
      { attempt: 1, status_code: null, error: 'target refused: cb.flaky.test does not resolve' },
    ]);
    expect(callback).toMatchObject({ status: 'pending', attempts: 1 });
    expect(jobs.map((j) => j.status)).toContain('queued');
    expect(connections).toBe(0);
  });
});
