import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPostgres } from './helpers/app.js';
import { personBody } from './helpers/registry.js';
import { freePort, havePostgresBinaries } from './helpers/throwaway-postgres.js';

/**
 * The deployment of issue 17 as operators run it, started by scripts/cluster on this machine: a
 * PostgreSQL primary with a streaming standby, PgBouncer in transaction mode, two API processes
 * (different public URLs) and one worker, all real processes talking HTTP. PostgreSQL run only,
 * when the PostgreSQL binaries and PgBouncer are installed (.ci/run installs both).
 */
const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => fs.existsSync(p));
const enabled = isPostgres() && havePostgresBinaries() && PGBOUNCER !== undefined;
const run = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, '..', 'scripts', 'cluster');
const ROOT = { id: 'topology-root', secret: 'topology-root-secret-0123456789' };

interface Hit {
  id: string;
  answered: number | 'dropped';
}

describe.skipIf(!enabled)('topology: primary + standby, PgBouncer, two API processes and a worker', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let api1: string;
  let api2: string;
  let primaryUrl: string;
  let root: string;
  let receiver: http.Server;
  let receiverUrl: string;
  const hits: Hit[] = [];
  const held: http.ServerResponse[] = [];
  let holdNext = 0;

  const cluster = (...args: string[]) =>
    run(SCRIPT, [args[0], dir, ...args.slice(1)], { env, timeout: 300_000 });

  async function api(base: string, method: string, url: string, token: string | null, body?: unknown) {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      // metrics, empty bodies
    }
    return { status: res.status, text, json };
  }

  async function ok(p: ReturnType<typeof api>, status = 200) {
    const res = await p;
    expect(res.status, res.text).toBe(status);
    return res.json;
  }

  async function tokenAt(base: string, clientId: string, secret: string): Promise<string> {
    const body = await ok(
      api(base, 'POST', '/oauth/token', null, {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: secret,
      }),
    );
    return body.access_token as string;
  }

  const kidOf = (token: string): string =>
    JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;

  async function until(what: string, done: () => Promise<boolean> | boolean, ms: number, step = 50) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await done()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(step);
    }
  }

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const hit: Hit = { id: String(req.headers['webhook-id']), answered: 200 };
        hits.push(hit);
        if (holdNext > 0) {
          holdNext--;
          hit.answered = 'dropped';
          held.push(res);
          return;
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-topology-'));
    // As root the servers run as `postgres`, which must reach the folder (mkdtemp makes it 0700).
    fs.chmodSync(parent, 0o755);
    dir = path.join(parent, 'cluster');
    const [pgPort, standbyPort, bouncerPort, api1Port, api2Port] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    env = {
      ...process.env,
      PG_PORT: String(pgPort),
      STANDBY_PORT: String(standbyPort),
      BOUNCER_PORT: String(bouncerPort),
      API1_PORT: String(api1Port),
      API2_PORT: String(api2Port),
      PGBOUNCER,
      CLUSTER_ROOT_ID: ROOT.id,
      CLUSTER_ROOT_SECRET: ROOT.secret,
      LOG_LEVEL: 'warn',
      HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
      HEARTH_WEBHOOK_RETRY_BASE_MS: '200',
      HEARTH_WEBHOOK_TIMEOUT_MS: '5000',
      HEARTH_RATE_LIMIT_PER_MINUTE: '100000',
      HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE: '100000',
      HEARTH_SHUTDOWN_DRAIN_MS: '0',
    };
    api1 = `http://127.0.0.1:${api1Port}`;
    api2 = `http://127.0.0.1:${api2Port}`;
    primaryUrl = `postgres://postgres@127.0.0.1:${pgPort}/hearth`;
    try {
      await cluster('up');
    } catch (err) {
      const logs = fs.existsSync(dir)
        ? fs
            .readdirSync(dir)
            .filter((f) => f.endsWith('.log'))
            .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').slice(-2000)}`)
        : [];
      throw new Error(`scripts/cluster up failed: ${String(err)}\n${logs.join('\n')}`);
    }
    root = await tokenAt(api1, ROOT.id, ROOT.secret);
  }, 600_000);

  afterAll(async () => {
    for (const res of held) res.destroy();
    await new Promise((r) => receiver?.close(r));
    if (dir) await cluster('down').catch(() => {});
    if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }, 60_000);

  /** A tenant with an admin, a reviewer, an approver and a reader (who never writes). */
  async function tenant() {
    const code = `topo-${Math.random().toString(36).slice(2, 8)}`;
    const t = await ok(
      api(api1, 'POST', '/api/v1/tenants', root, {
        name: `Tenant ${code}`,
        code,
        settings: { separation_of_duties: false },
      }),
      201,
    );
    const client = async (roles: string[]) => {
      const c = await ok(
        api(api1, 'POST', '/api/v1/clients', root, { name: roles.join('+'), tenant_id: t.tenant_id, roles }),
        201,
      );
      return { id: c.client_id as string, secret: c.client_secret as string };
    };
    const [admin, reviewer, approver, reader] = await Promise.all([
      client(['tenant_admin']),
      client(['reviewer']),
      client(['approver']),
      client(['registrar']),
    ]);
    return { tenantId: t.tenant_id as string, admin, reviewer, approver, reader };
  }

  it('a token issued by one API process is accepted by the other (one issuer)', async () => {
    // A key one process created at its start verifies on the other within a second.
    await until(
      'api2 to accept a token of api1',
      async () => (await api(api2, 'GET', '/api/v1/tenants', root)).status === 200,
      1500,
    );
    const fromApi2 = await tokenAt(api2, ROOT.id, ROOT.secret);
    await until(
      'api1 to accept a token of api2',
      async () => (await api(api1, 'GET', '/api/v1/tenants', fromApi2)).status === 200,
      1500,
    );
  });

  it('a key rotation on one process is used by the other; its tokens verify everywhere', async () => {
    const rotated = await ok(api(api1, 'POST', '/api/v1/signing-keys/rotate', root, {}));
    let token = '';
    await until(
      'api2 to sign with the new key',
      async () => {
        token = await tokenAt(api2, ROOT.id, ROOT.secret);
        return kidOf(token) === rotated.kid;
      },
      3000,
      100,
    );
    expect((await api(api1, 'GET', '/api/v1/tenants', token)).status).toBe(200);
    for (const retired of rotated.retired as string[]) expect(kidOf(token)).not.toBe(retired);
  });

  it('a client revoked on one process is refused by the other within 1 s (through PgBouncer)', async () => {
    const t = await tenant();
    const token = await tokenAt(api2, t.admin.id, t.admin.secret);
    expect((await api(api2, 'GET', '/api/v1/verticals', token)).status).toBe(200); // cached on api2
    await ok(api(api1, 'POST', `/api/v1/clients/${t.admin.id}/deactivate`, root, {}));
    // A functional deadline (the promise of decision 0090), not a benchmark.
    await until(
      'api2 to refuse the revoked client',
      async () => (await api(api2, 'GET', '/api/v1/verticals', token)).status === 401,
      1000,
      25,
    );
  });

  it('webhooks reach the receiver once per event and in order across a kill -9 of the worker; attempts match the POSTs', async () => {
    const t = await tenant();
    const admin = await tokenAt(api1, t.admin.id, t.admin.secret);
    const verticals = await ok(api(api1, 'GET', '/api/v1/verticals', admin));
    const health = (verticals.data as { code: string; vertical_id: string }[]).find(
      (v) => v.code === 'HEALTH',
    )!;
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const integration = await ok(
      api(api1, 'POST', '/api/v1/integrations', admin, {
        integration_name: 'Topology partner',
        partner_name: 'Partner',
        partner_type: 'NGO',
        vertical_ids: [health.vertical_id],
        active_from: hourAgo,
      }),
      201,
    );
    const base = `/api/v1/integrations/${integration.integration_id}`;
    await ok(api(api1, 'POST', `${base}/request-review`, admin, { request_reason_code: 'ROUTINE_REVIEW' }));
    const reviewer = await tokenAt(api1, t.reviewer.id, t.reviewer.secret);
    await ok(api(api1, 'POST', `${base}/review`, reviewer, { review_notes: 'fine' }));
    const approver = await tokenAt(api1, t.approver.id, t.approver.secret);
    await ok(api(api1, 'POST', `${base}/approve`, approver, { approval_reason_code: 'ROUTINE_REVIEW' }));
    await ok(api(api1, 'POST', `${base}/activate`, admin, {}));
    const webhook = await ok(
      api(api1, 'POST', `${base}/webhooks`, admin, {
        target_url: `${receiverUrl}/topology`,
        event_types: ['person.updated'],
        active_from: hourAgo,
      }),
      201,
    );
    const person = await ok(api(api1, 'POST', '/api/v1/persons', admin, personBody()), 201);

    // The first delivery is held by the receiver; the worker is killed while it waits.
    holdNext = 1;
    for (const name of ['One', 'Two', 'Three']) {
      await ok(api(api2, 'PATCH', `/api/v1/persons/${person.person_id}`, admin, { given_name: name }));
    }
    await until('the first delivery to reach the receiver', () => hits.length >= 1, 30_000);
    await cluster('kill', 'worker', 'KILL');
    for (const res of held.splice(0)) res.destroy();
    // A killed worker's claim expires after the attempt timeout plus a minute; the test moves
    // that expiry to now instead of waiting for it.
    const primary = new pg.Client({ connectionString: primaryUrl });
    await primary.connect();
    try {
      await primary.query(`UPDATE webhook_deliveries SET locked_until = now() WHERE locked_until > now()`);
    } finally {
      await primary.end();
    }
    await cluster('start', 'worker');
    await until(
      'all three events delivered',
      () => new Set(hits.filter((h) => h.answered === 200).map((h) => h.id)).size >= 3,
      60_000,
      100,
    );
    await sleep(500); // nothing more may arrive

    const firstSeen = [...new Set(hits.map((h) => h.id))];
    expect(firstSeen).toHaveLength(3);
    // Per-resource order: event ids (UUIDv7) in the order the changes were made.
    expect([...firstSeen].sort()).toEqual(firstSeen);
    // Each event answered exactly once; only the one in flight at the kill was sent twice.
    for (const id of firstSeen) expect(hits.filter((h) => h.id === id && h.answered === 200)).toHaveLength(1);
    expect(hits.filter((h) => h.id === firstSeen[0])).toHaveLength(2);

    const deliveries = await ok(api(api1, 'GET', `${base}/webhooks/${webhook.webhook_id}/deliveries`, admin));
    const byEvent = new Map(
      (deliveries.data as { event_id: string; status: string; attempts: number }[]).map((d) => [
        d.event_id,
        d,
      ]),
    );
    for (const id of firstSeen) {
      expect(byEvent.get(id)).toMatchObject({
        status: 'succeeded',
        attempts: hits.filter((h) => h.id === id).length,
      });
    }
  }, 180_000);

  it('reads go to the replica; with the replica stopped they still answer', async () => {
    const t = await tenant();
    const admin = await tokenAt(api1, t.admin.id, t.admin.secret);
    const number = `TOPO${Date.now()}`;
    await ok(api(api1, 'POST', '/api/v1/persons', admin, personBody({ identity_number: number })), 201);
    const reader = await tokenAt(api1, t.reader.id, t.reader.secret);
    const search = () =>
      api(api1, 'GET', `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`, reader);
    const replicaReads = async () => {
      const m = await api(api1, 'GET', '/metrics', root);
      return Number(/hearth_reads_total\{target="replica"\} (\d+)/.exec(m.text)?.[1] ?? 0);
    };
    const before = await replicaReads();
    // The reader never wrote: the replica answers, once it has replayed the new person.
    await until(
      'the replica to show the new person',
      async () => ((await search()).json.data as unknown[])?.length === 1,
      5000,
    );
    expect(await replicaReads()).toBeGreaterThan(before);

    await cluster('stop', 'standby');
    const res = await search();
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(200);
    await cluster('start', 'standby');
  }, 60_000);
});
