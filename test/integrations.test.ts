import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInForce } from '../src/integrations/contract-repo.js';
import { assertIntegrationCanExchange, TRANSITIONS } from '../src/integrations/lifecycle.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import {
  call,
  createTestTenant,
  type IssuedTestClient,
  rootToken,
  type TestTenant,
  tokenFor,
} from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let admin2: IssuedTestClient;
let reviewer: IssuedTestClient;
let approver: IssuedTestClient;
let auditor: IssuedTestClient;
let root: string;

beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  [admin2, reviewer, approver, auditor] = await Promise.all([
    a.client({ roles: ['tenant_admin'], name: 'admin2' }),
    a.client({ roles: ['reviewer'] }),
    a.client({ roles: ['approver'] }),
    a.client({ roles: ['auditor'] }),
  ]);
  root = await rootToken(t.app);
});
afterAll(() => t?.close());

const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
const unique = (prefix: string) => `${prefix} ${randomBytes(4).toString('hex')}`;

type Json = Record<string, unknown> & { integration_id: string; status: string };

async function newIntegration(
  tenant: TestTenant = a,
  overrides: Record<string, unknown> = {},
  token = tenant.admin.token,
): Promise<Json> {
  const res = await call(t.app, token, 'POST', '/api/v1/integrations', {
    integration_name: unique('MoH EMR'),
    partner_name: 'Ministry of Health',
    partner_type: 'government',
    vertical_ids: [tenant.verticals.HEALTH, tenant.verticals.EDU],
    active_from: hourAgo(),
    ...overrides,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const url = (id: string, action = '') => `/api/v1/integrations/${id}${action ? `/${action}` : ''}`;

async function act(token: string, id: string, action: string, body: unknown = {}, status = 200) {
  const res = await call(t.app, token, 'POST', url(id, action), body);
  expect(res.statusCode, `${action}: ${res.body}`).toBe(status);
  return res.json();
}

const requestBody = { request_reason_code: 'ROUTINE_REVIEW' };
const approveBody = { approval_reason_code: 'ROUTINE_REVIEW' };
const reason = { reason_code: 'PARTNER_REQUEST' };
const actionBodies: Record<string, unknown> = {
  'request-review': requestBody,
  review: {},
  approve: approveBody,
  activate: {},
  restrict: reason,
  suspend: reason,
  deprecate: reason,
  archive: reason,
};

/** Drives an integration of tenant A to `target` with separate requester, reviewer and approver. */
async function reach(target: string): Promise<Json & { client_secret?: string }> {
  const i = await newIntegration();
  const id = i.integration_id;
  if (target === 'draft') return i;
  if (target === 'archived') return act(a.admin.token, id, 'archive', reason);
  let last = await act(a.admin.token, id, 'request-review', requestBody);
  if (target === 'requested') return last;
  last = await act(reviewer.token, id, 'review', { review_notes: 'fine' });
  if (target === 'reviewed') return last;
  last = await act(approver.token, id, 'approve', approveBody);
  if (target === 'approved') return last;
  const activated = await act(a.admin.token, id, 'activate');
  if (target === 'active') return activated;
  last = await act(
    a.admin.token,
    id,
    target === 'restricted' ? 'restrict' : target === 'suspended' ? 'suspend' : 'deprecate',
    reason,
  );
  return { ...last, client_secret: activated.client_secret };
}

describe('integrations: create, read, list', () => {
  it('creates a draft integration and reads it back', async () => {
    const i = await newIntegration();
    expect(i.status).toBe('draft');
    expect(i.version_id).toBe(1);
    expect(typeof i.created_at).toBe('string');
    expect(i.auth_client_id).toBeNull();
    const got = await call(t.app, auditor.token, 'GET', url(i.integration_id));
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({
      integration_id: i.integration_id,
      tenant_id: a.tenantId,
      status: 'draft',
      vertical_ids: [a.verticals.HEALTH, a.verticals.EDU],
      auth_client_id: null,
    });
  });

  it('refuses bad input with 4xx problems', async () => {
    const base = {
      integration_name: unique('x'),
      partner_name: 'p',
      partner_type: 'government',
      vertical_ids: [a.verticals.HEALTH],
      active_from: hourAgo(),
    };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, surprise: 1 }, 422, 'ERR_VAL_UNKNOWN_FIELD'],
      [{ ...base, partner_type: 'company' }, 422, 'ERR_VAL_INVALID_FORMAT'],
      [{ ...base, vertical_ids: [] }, 422, 'ERR_VAL_INVALID_FORMAT'],
      [{ ...base, vertical_ids: [b.verticals.HEALTH] }, 422, 'ERR_VAL_RULE_VIOLATION'],
      [
        { ...base, active_until: new Date(Date.now() - 7200_000).toISOString() },
        422,
        'ERR_VAL_RULE_VIOLATION',
      ],
      [{ ...base, integration_name: undefined }, 422, 'ERR_VAL_MISSING_FIELD'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call(t.app, a.admin.token, 'POST', '/api/v1/integrations', body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().code).toBe(code);
    }
    const dup = await newIntegration();
    const again = await call(t.app, a.admin.token, 'POST', '/api/v1/integrations', {
      ...base,
      integration_name: dup.integration_name,
    });
    expect(again.statusCode).toBe(409);
    expect((await call(t.app, a.admin.token, 'GET', url('not-a-uuid'))).statusCode).toBe(400);
    expect(
      (await call(t.app, a.admin.token, 'GET', url('00000000-0000-4000-8000-000000000001'))).statusCode,
    ).toBe(404);
    const rootNoTenant = await call(t.app, root, 'GET', '/api/v1/integrations');
    expect(rootNoTenant.statusCode).toBe(400);
  });

  it('lists with filters and cursor pagination', async () => {
    const tenant = await createTestTenant(t);
    const gov = await newIntegration(tenant, { vertical_ids: [tenant.verticals.FIN] });
    const ngo = await newIntegration(tenant, { partner_type: 'NGO' });
    const requested = await newIntegration(tenant, { partner_type: 'private' });
    await act(tenant.admin.token, requested.integration_id, 'request-review', requestBody);
    const list = async (q: string) => {
      const res = await call(t.app, tenant.admin.token, 'GET', `/api/v1/integrations${q}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { data: Json[]; next_cursor: string | null };
    };
    const all = await list('');
    expect(all.data.map((i) => i.integration_id)).toEqual([
      gov.integration_id,
      ngo.integration_id,
      requested.integration_id,
    ]);
    expect(all.next_cursor).toBeNull();
    expect((await list('?status=requested')).data.map((i) => i.integration_id)).toEqual([
      requested.integration_id,
    ]);
    expect((await list('?partner_type=NGO')).data.map((i) => i.integration_id)).toEqual([ngo.integration_id]);
    expect((await list(`?vertical_id=${tenant.verticals.FIN}`)).data.map((i) => i.integration_id)).toEqual([
      gov.integration_id,
    ]);
    const p1 = await list('?limit=2');
    expect(p1.data).toHaveLength(2);
    expect(typeof p1.next_cursor).toBe('string');
    const p2 = await list(`?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.data.map((i) => i.integration_id)).toEqual([requested.integration_id]);
    expect(p2.next_cursor).toBeNull();
    expect(
      (await call(t.app, tenant.admin.token, 'GET', '/api/v1/integrations?cursor=bm9wZQ')).statusCode,
    ).toBe(400);
    expect((await call(t.app, tenant.admin.token, 'GET', '/api/v1/integrations?limit=201')).statusCode).toBe(
      400,
    );
    expect(
      (await call(t.app, tenant.admin.token, 'GET', '/api/v1/integrations?status=rejected')).statusCode,
    ).toBe(400);
  });
});

describe('lifecycle', () => {
  it('runs the whole lifecycle with versions, audit and outbox events', async () => {
    const i = await newIntegration();
    const id = i.integration_id;
    const requested = await act(a.admin.token, id, 'request-review', {
      request_reason_code: 'OTHER',
      request_reason_text: 'new partner',
    });
    expect(requested).toMatchObject({ status: 'requested', requested_by: a.admin.clientId, version_id: 2 });
    expect(typeof requested.requested_at).toBe('string');
    const reviewed = await act(reviewer.token, id, 'review', { review_notes: 'checked the DPA' });
    expect(reviewed).toMatchObject({
      status: 'reviewed',
      reviewed_by: reviewer.clientId,
      review_notes: 'checked the DPA',
    });
    expect(typeof reviewed.reviewed_at).toBe('string');
    const approved = await act(approver.token, id, 'approve', approveBody);
    expect(approved).toMatchObject({ status: 'approved', approved_by: approver.clientId });
    expect(typeof approved.approved_at).toBe('string');
    const activated = await act(a.admin.token, id, 'activate');
    expect(activated.status).toBe('active');
    expect(typeof activated.activated_at).toBe('string');
    expect(activated.auth_client_id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(typeof activated.client_secret).toBe('string');

    const restricted = await act(a.admin.token, id, 'restrict', reason);
    expect(restricted).toMatchObject({ status: 'restricted', status_reason_code: 'PARTNER_REQUEST' });
    expect(typeof restricted.restricted_at).toBe('string');
    const back = await act(a.admin.token, id, 'activate');
    expect(back.status).toBe('active');
    expect(back.auth_client_id).toBe(activated.auth_client_id);
    expect(back.client_secret).toBeUndefined();
    expect((await act(a.admin.token, id, 'suspend', reason)).status).toBe('suspended');
    expect((await act(a.admin.token, id, 'restrict', reason)).status).toBe('restricted');
    expect((await act(a.admin.token, id, 'suspend', reason)).status).toBe('suspended');
    expect((await act(a.admin.token, id, 'activate')).status).toBe('active');
    const deprecated = await act(a.admin.token, id, 'deprecate', reason);
    expect(deprecated.status).toBe('deprecated');
    expect(typeof deprecated.deprecated_at).toBe('string');
    expect((await act(a.admin.token, id, 'suspend', reason)).status).toBe('suspended');
    expect((await act(a.admin.token, id, 'deprecate', reason)).status).toBe('deprecated');
    const archived = await act(a.admin.token, id, 'archive', {
      reason_code: 'OTHER',
      reason_text: 'contract ended',
    });
    expect(archived).toMatchObject({ status: 'archived', status_reason_text: 'contract ended' });
    expect(typeof archived.archived_at).toBe('string');

    const got = await call(t.app, a.admin.token, 'GET', url(id));
    expect(got.json().client_secret).toBeUndefined();
    expect(got.json().auth_client_id).toBe(activated.auth_client_id);

    const versions = (await call(t.app, auditor.token, 'GET', url(id, 'versions'))).json().data;
    expect(versions.map((v: { change: string }) => v.change)).toEqual([
      'create',
      'request-review',
      'review',
      'approve',
      'activate',
      'restrict',
      'activate',
      'suspend',
      'restrict',
      'suspend',
      'activate',
      'deprecate',
      'suspend',
      'deprecate',
      'archive',
    ]);
    expect(versions.map((v: { version_id: number }) => v.version_id)).toEqual(
      versions.map((_: unknown, n: number) => n + 1),
    );
    expect(versions[1]).toMatchObject({
      status_from: 'draft',
      status_to: 'requested',
      reason_code: 'OTHER',
      reason_text: 'new partner',
      changed_by: a.admin.clientId,
    });
    expect(versions.at(-1)).toMatchObject({
      status_from: 'deprecated',
      status_to: 'archived',
      reason_code: 'OTHER',
    });
    expect(archived.version_id).toBe(versions.length);

    const audit = await t.db.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE resource_type = 'integration' AND resource_id = $1 ORDER BY seq",
      [id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'integration.create',
      'integration.request_review',
      'integration.review',
      'integration.approve',
      'integration.activate',
      'integration.restrict',
      'integration.activate',
      'integration.suspend',
      'integration.restrict',
      'integration.suspend',
      'integration.activate',
      'integration.deprecate',
      'integration.suspend',
      'integration.deprecate',
      'integration.archive',
    ]);
    const events = await t.db.query<{ type: string; data: { from: string; to: string } }>(
      'SELECT type, data FROM outbox_events WHERE tenant_id = $1 AND resource_id = $2 ORDER BY event_id',
      [a.tenantId, id],
    );
    expect(events.rows).toHaveLength(14);
    expect(events.rows.every((e) => e.type === 'integration.status_changed')).toBe(true);
    expect(events.rows[0].data).toEqual({ from: 'draft', to: 'requested' });
    expect(events.rows.at(-1)?.data).toEqual({ from: 'deprecated', to: 'archived' });
  });

  it('refuses every illegal transition with 409 naming the current status', async () => {
    const statuses = [
      'draft',
      'requested',
      'reviewed',
      'approved',
      'active',
      'restricted',
      'suspended',
      'deprecated',
      'archived',
    ];
    let refused = 0;
    for (const status of statuses) {
      const i = await reach(status);
      expect(i.status).toBe(status);
      for (const [action, rule] of Object.entries(TRANSITIONS)) {
        if ((rule.from as readonly string[]).includes(status)) continue;
        const res = await call(
          t.app,
          admin2.token,
          'POST',
          url(i.integration_id, action),
          actionBodies[action],
        );
        expect(res.statusCode, `${action} from ${status}: ${res.body}`).toBe(409);
        expect(res.json().code).toBe('ERR_STATE_CONFLICT');
        expect(res.json().current_status).toBe(status);
        expect(res.json().detail).toContain(status);
        refused++;
      }
      const still = await call(t.app, a.admin.token, 'GET', url(i.integration_id));
      expect(still.json().status).toBe(status);
    }
    const legal = Object.values(TRANSITIONS).reduce((n, rule) => n + rule.from.length, 0);
    expect(legal).toBe(22);
    expect(refused).toBe(statuses.length * 8 - legal);
  });

  it('review can return an integration to draft with notes (required)', async () => {
    const i = await reach('requested');
    const noNotes = await call(t.app, reviewer.token, 'POST', url(i.integration_id, 'review'), {
      decision: 'returned',
    });
    expect(noNotes.statusCode).toBe(422);
    expect(noNotes.json().errors[0].field).toBe('review_notes');
    const badDecision = await call(t.app, reviewer.token, 'POST', url(i.integration_id, 'review'), {
      decision: 'rejected',
    });
    expect(badDecision.statusCode).toBe(422);
    const returned = await act(reviewer.token, i.integration_id, 'review', {
      decision: 'returned',
      review_notes: 'the DPA reference is missing',
    });
    expect(returned).toMatchObject({
      status: 'draft',
      review_decision: 'returned',
      review_notes: 'the DPA reference is missing',
    });
    const patched = await call(t.app, a.admin.token, 'PATCH', url(i.integration_id), {
      partner_name: 'MoH (DPA 42)',
    });
    expect(patched.statusCode).toBe(200);
    expect((await act(a.admin.token, i.integration_id, 'request-review', requestBody)).status).toBe(
      'requested',
    );
    expect((await act(reviewer.token, i.integration_id, 'review', {})).status).toBe('reviewed');
    const versions = (await call(t.app, a.admin.token, 'GET', url(i.integration_id, 'versions'))).json().data;
    const ret = versions.find(
      (v: { status_to: string; change: string }) => v.change === 'review' && v.status_to === 'draft',
    );
    expect(ret).toMatchObject({ status_from: 'requested', status_to: 'draft' });
    const audit = await t.db.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE resource_id = $1 AND action = 'integration.return'",
      [i.integration_id],
    );
    expect(audit.rows).toHaveLength(1);
  });

  it('checks the reason fields (text required with OTHER)', async () => {
    const i = await newIntegration();
    const id = i.integration_id;
    const cases: [string, unknown, string, string][] = [
      ['request-review', {}, 'ERR_VAL_MISSING_FIELD', 'request_reason_code'],
      ['request-review', { request_reason_code: 'OTHER' }, 'ERR_VAL_MISSING_FIELD', 'request_reason_text'],
      ['request-review', { request_reason_code: 'NOPE' }, 'ERR_VAL_INVALID_FORMAT', 'request_reason_code'],
      [
        'request-review',
        { request_reason_code: 'OTHER', request_reason_text: '' },
        'ERR_VAL_INVALID_FORMAT',
        'request_reason_text',
      ],
      ['archive', { reason_code: 'OTHER' }, 'ERR_VAL_MISSING_FIELD', 'reason_text'],
      ['archive', { reason_code: 'OTHER', reason_text: '   ' }, 'ERR_VAL_MISSING_FIELD', 'reason_text'],
      ['archive', { reason_code: 'OTHER', reason_text: 'x', extra: true }, 'ERR_VAL_UNKNOWN_FIELD', 'extra'],
    ];
    for (const [action, body, code, field] of cases) {
      const res = await call(t.app, a.admin.token, 'POST', url(id, action), body);
      expect(res.statusCode, `${action} ${JSON.stringify(body)}: ${res.body}`).toBe(422);
      expect(res.json().code).toBe(code);
      expect(res.json().errors[0].field).toBe(field);
    }
    const noBody = await t.app.inject({
      method: 'POST',
      url: url(id, 'request-review'),
      headers: { authorization: `Bearer ${a.admin.token}` },
    });
    expect(noBody.statusCode).toBe(422);
    expect(noBody.json().errors[0].field).toBe('request_reason_code');

    const reviewed = await reach('reviewed');
    const approve = await call(t.app, approver.token, 'POST', url(reviewed.integration_id, 'approve'), {
      approval_reason_code: 'OTHER',
    });
    expect(approve.statusCode).toBe(422);
    expect(approve.json().errors[0].field).toBe('approval_reason_text');
    const ok = await act(approver.token, reviewed.integration_id, 'approve', {
      approval_reason_code: 'OTHER',
      approval_reason_text: 'board decision 2024/7',
    });
    expect(ok.approval_reason_text).toBe('board decision 2024/7');

    const active = await reach('active');
    for (const action of ['restrict', 'suspend', 'deprecate']) {
      const res = await call(t.app, a.admin.token, 'POST', url(active.integration_id, action), {
        reason_code: 'OTHER',
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors[0].field).toBe('reason_text');
    }
    const activateExtra = await call(t.app, a.admin.token, 'POST', url(active.integration_id, 'activate'), {
      x: 1,
    });
    expect(activateExtra.statusCode).toBe(422);
  });
});

describe('separation of duties', () => {
  it('the requester cannot approve', async () => {
    const i = await newIntegration();
    await act(a.admin.token, i.integration_id, 'request-review', requestBody);
    await act(reviewer.token, i.integration_id, 'review', {});
    const res = await call(t.app, a.admin.token, 'POST', url(i.integration_id, 'approve'), approveBody);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    expect(res.json().detail).toContain('requested');
    expect((await act(admin2.token, i.integration_id, 'approve', approveBody)).status).toBe('approved');
  });

  it('the reviewer cannot approve', async () => {
    const i = await newIntegration();
    await act(admin2.token, i.integration_id, 'request-review', requestBody);
    await act(a.admin.token, i.integration_id, 'review', {});
    const res = await call(t.app, a.admin.token, 'POST', url(i.integration_id, 'approve'), approveBody);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    expect(res.json().detail).toContain('reviewed');
    expect((await call(t.app, a.admin.token, 'GET', url(i.integration_id))).json().status).toBe('reviewed');
  });

  it('ROOT bypasses scopes but not separation of duties', async () => {
    const i = await newIntegration();
    const asRoot = { 'x-tenant-id': a.tenantId };
    const req = await call(t.app, root, 'POST', url(i.integration_id, 'request-review'), requestBody, asRoot);
    expect(req.statusCode).toBe(200);
    await act(reviewer.token, i.integration_id, 'review', {});
    const res = await call(t.app, root, 'POST', url(i.integration_id, 'approve'), approveBody, asRoot);
    expect(res.statusCode).toBe(403);
    expect((await act(approver.token, i.integration_id, 'approve', approveBody)).status).toBe('approved');
  });

  it('each step needs its scope', async () => {
    const i = await reach('requested');
    const cases: [IssuedTestClient, string, string, unknown][] = [
      [approver, 'POST', 'review', {}],
      [auditor, 'POST', 'review', {}],
      [reviewer, 'POST', 'approve', approveBody],
      [reviewer, 'POST', 'archive', reason],
      [approver, 'POST', 'activate', {}],
    ];
    for (const [client, method, action, body] of cases) {
      const res = await call(t.app, client.token, method, url(i.integration_id, action), body);
      expect(res.statusCode, `${action}`).toBe(403);
      expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    }
    const create = await call(t.app, reviewer.token, 'POST', '/api/v1/integrations', {});
    expect(create.statusCode).toBe(403);
    expect(create.json().detail).toContain('integrations:manage');
    const patch = await call(t.app, auditor.token, 'PATCH', url(i.integration_id), { partner_name: 'x' });
    expect(patch.statusCode).toBe(403);
    const registrar = await a.client({ roles: ['registrar'] });
    expect((await call(t.app, registrar.token, 'GET', '/api/v1/integrations')).statusCode).toBe(403);
    expect((await call(t.app, auditor.token, 'GET', '/api/v1/integrations')).statusCode).toBe(200);
    expect((await call(t.app, null, 'GET', '/api/v1/integrations')).statusCode).toBe(401);
  });
});

describe("the integration's API client", () => {
  it('takes its per-minute request limit from activation, and a later activation changes it', async () => {
    const i = await reach('approved');
    const id = i.integration_id;
    await act(a.admin.token, id, 'activate', { rate_limit_per_minute: 0 }, 422);
    await act(a.admin.token, id, 'activate', { rate_limit_per_minute: 'many' }, 422);
    const activated = await act(a.admin.token, id, 'activate', { rate_limit_per_minute: 40 });
    const clientId: string = activated.auth_client_id;
    const limitOf = async () =>
      (await call(t.app, a.admin.token, 'GET', `/api/v1/clients/${clientId}`)).json().rate_limit_per_minute;
    expect(await limitOf()).toBe(40);
    const token = await tokenFor(t.app, clientId, activated.client_secret);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).headers['ratelimit-limit']).toBe('40');

    await act(a.admin.token, id, 'suspend', reason);
    await act(a.admin.token, id, 'activate', { rate_limit_per_minute: 7 });
    expect(await limitOf()).toBe(7);
    const again = await tokenFor(t.app, clientId, activated.client_secret);
    expect((await call(t.app, again, 'GET', '/api/v1/verticals')).headers['ratelimit-limit']).toBe('7');
    // Without the field a reactivation keeps the limit it had.
    await act(a.admin.token, id, 'suspend', reason);
    await act(a.admin.token, id, 'activate');
    expect(await limitOf()).toBe(7);
    // Each change of the limit is in the activation's audit event.
    const events = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/audit-events?action=integration.activate&resource_id=${id}&limit=200`,
    );
    expect(
      events
        .json()
        .data.map((e: { details: Record<string, unknown> }) => e.details.client_rate_limit_per_minute),
    ).toEqual([40, 7, undefined]);
  });

  it('is issued on activation: secret once, token works, suspension refuses live tokens at once', async () => {
    const i = await reach('approved');
    const activated = await act(a.admin.token, i.integration_id, 'activate');
    const clientId: string = activated.auth_client_id;
    expect(typeof activated.client_secret).toBe('string');
    const client = await call(t.app, a.admin.token, 'GET', `/api/v1/clients/${clientId}`);
    expect(client.json()).toMatchObject({
      roles: ['integration'],
      tenant_id: a.tenantId,
      integration_id: i.integration_id,
      vertical_ids: [a.verticals.HEALTH, a.verticals.EDU],
      active: true,
    });
    expect([...client.json().scopes].sort()).toEqual(['dci:search', 'exchange:pull', 'exchange:push']);

    const token = await tokenFor(t.app, clientId, activated.client_secret);
    const ok = await call(t.app, token, 'GET', '/api/v1/verticals');
    expect(ok.statusCode).toBe(200);
    const denied = await call(t.app, token, 'GET', '/api/v1/integrations');
    expect(denied.statusCode).toBe(403);

    await act(a.admin.token, i.integration_id, 'suspend', reason);
    const refused = await call(t.app, token, 'GET', '/api/v1/verticals');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('ERR_AUTH_INVALID');
    const newToken = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: activated.client_secret,
      },
    });
    expect(newToken.statusCode).toBeGreaterThanOrEqual(400);

    const again = await act(a.admin.token, i.integration_id, 'activate');
    expect(again.client_secret).toBeUndefined();
    expect(again.auth_client_id).toBe(clientId);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).statusCode).toBe(200);

    await act(a.admin.token, i.integration_id, 'restrict', reason);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).statusCode).toBe(200);
    await act(a.admin.token, i.integration_id, 'deprecate', reason);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).statusCode).toBe(200);

    await act(a.admin.token, i.integration_id, 'archive', reason);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).statusCode).toBe(401);
    const after = await call(t.app, a.admin.token, 'GET', `/api/v1/clients/${clientId}`);
    expect(after.json().active).toBe(false);
    // Reactivating the client by hand does not bring an archived integration back.
    await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${clientId}/activate`);
    const fresh = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: activated.client_secret,
      },
    });
    expect(fresh.statusCode).toBeGreaterThanOrEqual(400);
  });

  it('activation reactivates a client that was deactivated by hand, without a new secret', async () => {
    const i = await reach('suspended');
    const clientId = i.auth_client_id as string;
    const off = await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${clientId}/deactivate`);
    expect(off.statusCode).toBe(200);
    const again = await act(a.admin.token, i.integration_id, 'activate');
    expect(again.client_secret).toBeUndefined();
    expect((await call(t.app, a.admin.token, 'GET', `/api/v1/clients/${clientId}`)).json().active).toBe(true);
    const token = await tokenFor(t.app, clientId, i.client_secret as string);
    expect((await call(t.app, token, 'GET', '/api/v1/verticals')).statusCode).toBe(200);
  });

  it('assertIntegrationCanExchange: active both ways, restricted pulls only, others nothing', () => {
    const base = { active_from: hourAgo(), active_until: null };
    expect(() => assertIntegrationCanExchange({ ...base, status: 'active' }, 'push')).not.toThrow();
    expect(() => assertIntegrationCanExchange({ ...base, status: 'active' }, 'pull')).not.toThrow();
    expect(() => assertIntegrationCanExchange({ ...base, status: 'restricted' }, 'pull')).not.toThrow();
    for (const [status, direction] of [
      ['restricted', 'push'],
      ['suspended', 'pull'],
      ['deprecated', 'pull'],
      ['approved', 'push'],
      ['archived', 'pull'],
    ] as const) {
      expect(() => assertIntegrationCanExchange({ ...base, status }, direction)).toThrow(
        expect.objectContaining({ code: 'ERR_STATE_CONFLICT', extra: { current_status: status } }),
      );
    }
    expect(() =>
      assertIntegrationCanExchange({ status: 'active', active_from: inDays(1), active_until: null }, 'pull'),
    ).toThrow(/window/);
    expect(() =>
      assertIntegrationCanExchange(
        { status: 'active', active_from: inDays(-2), active_until: inDays(-1) },
        'pull',
      ),
    ).toThrow(/window/);
  });
});

describe('patch', () => {
  it('changes a draft, bumps version_id and records old and new values', async () => {
    const i = await newIntegration();
    const res = await call(t.app, a.admin.token, 'PATCH', url(i.integration_id), {
      integration_name: unique('Renamed'),
      vertical_ids: [a.verticals.FIN],
      active_until: inDays(30),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ version_id: 2, vertical_ids: [a.verticals.FIN] });
    expect(typeof res.json().updated_at).toBe('string');
    const versions = (await call(t.app, a.admin.token, 'GET', url(i.integration_id, 'versions'))).json().data;
    expect(versions[1]).toMatchObject({ change: 'update', status_from: null });
    expect([...versions[1].fields].sort()).toEqual(['active_until', 'integration_name', 'vertical_ids']);
    expect(versions[1].old_values.vertical_ids).toEqual([a.verticals.HEALTH, a.verticals.EDU]);
    expect(versions[1].new_values.vertical_ids).toEqual([a.verticals.FIN]);
    const same = await call(t.app, a.admin.token, 'PATCH', url(i.integration_id), {
      partner_name: i.partner_name,
    });
    expect(same.json().version_id).toBe(2);
    const refusals: [unknown, number][] = [
      [{}, 422],
      [{ partner_type: 'NGO' }, 422],
      [{ vertical_ids: [b.verticals.FIN] }, 422],
      [{ active_from: inDays(40) }, 422],
    ];
    for (const [body, status] of refusals) {
      const r = await call(t.app, a.admin.token, 'PATCH', url(i.integration_id), body);
      expect(r.statusCode, `${JSON.stringify(body)}: ${r.body}`).toBe(status);
    }
  });

  it('after draft: names may change, scope may not, active_until only shortens', async () => {
    const i = await reach('active');
    const id = i.integration_id;
    expect((await call(t.app, a.admin.token, 'PATCH', url(id), { partner_name: 'MoH' })).statusCode).toBe(
      200,
    );
    expect(
      (await call(t.app, a.admin.token, 'PATCH', url(id), { active_until: inDays(10) })).statusCode,
    ).toBe(200);
    for (const body of [
      { vertical_ids: [a.verticals.HEALTH] },
      { active_from: hourAgo() },
      { active_until: null },
    ]) {
      const res = await call(t.app, a.admin.token, 'PATCH', url(id), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(409);
      expect(res.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: 'active' });
    }
    const past = await call(t.app, a.admin.token, 'PATCH', url(id), { active_until: hourAgo() });
    expect(past.statusCode).toBe(422);
    const longer = await call(t.app, a.admin.token, 'PATCH', url(id), { active_until: inDays(20) });
    expect(longer.statusCode).toBe(409);
    expect((await call(t.app, a.admin.token, 'PATCH', url(id), { active_until: inDays(5) })).statusCode).toBe(
      200,
    );
  });

  it('an archived integration is immutable', async () => {
    const i = await reach('archived');
    const id = i.integration_id;
    const writes: [string, string, unknown][] = [
      ['PATCH', url(id), { partner_name: 'x' }],
      ['POST', url(id, 'contracts'), contractBody()],
      ...Object.entries(actionBodies).map(([action, body]): [string, string, unknown] => [
        'POST',
        url(id, action),
        body,
      ]),
    ];
    for (const [method, path, body] of writes) {
      const res = await call(t.app, a.admin.token, method, path, body);
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBe(409);
      expect(res.json().current_status).toBe('archived');
    }
  });
});

function contractBody(overrides: Record<string, unknown> = {}) {
  return {
    purpose: 'Eligibility checks',
    data_categories: ['person', 'household'],
    field_list: ['full_name', 'date_of_birth', 'contacts', 'household.household_name'],
    consent_requirements: { vertical_ids: [a.verticals.HEALTH] },
    active_from: hourAgo(),
    ...overrides,
  };
}

describe('contracts', () => {
  it('create, list, get, patch while draft, activate, archive — each change a version', async () => {
    const i = await newIntegration();
    const base = url(i.integration_id, 'contracts');
    const created = await call(t.app, a.admin.token, 'POST', base, contractBody());
    expect(created.statusCode, created.body).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({
      status: 'draft',
      version_id: 1,
      in_force: false,
      integration_id: i.integration_id,
    });
    expect(typeof c.contract_id).toBe('string');
    expect(typeof c.created_at).toBe('string');
    const curl = `${base}/${c.contract_id}`;

    const patched = await call(t.app, a.admin.token, 'PATCH', curl, {
      field_list: ['full_name', 'gender'],
      data_categories: ['person'],
      active_until: inDays(90),
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ version_id: 2, field_list: ['full_name', 'gender'] });
    expect(typeof patched.json().updated_at).toBe('string');

    const activated = await call(t.app, a.admin.token, 'POST', `${curl}/activate`);
    expect(activated.statusCode, activated.body).toBe(200);
    expect(activated.json()).toMatchObject({ status: 'active', in_force: true, version_id: 3 });
    expect(typeof activated.json().activated_at).toBe('string');

    const patchActive = await call(t.app, a.admin.token, 'PATCH', curl, { purpose: 'x' });
    expect(patchActive.statusCode).toBe(409);
    expect(patchActive.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: 'active' });
    const activateAgain = await call(t.app, a.admin.token, 'POST', `${curl}/activate`, {});
    expect(activateAgain.statusCode).toBe(409);

    const list = await call(t.app, auditor.token, 'GET', base);
    expect(list.json().data.map((x: { contract_id: string }) => x.contract_id)).toEqual([c.contract_id]);
    expect((await call(t.app, auditor.token, 'GET', `${base}?status=draft`)).json().data).toEqual([]);
    const got = await call(t.app, auditor.token, 'GET', curl);
    expect(got.json()).toMatchObject({ contract_id: c.contract_id, status: 'active' });

    expect((await call(t.app, a.admin.token, 'POST', `${curl}/archive`, {})).statusCode).toBe(422);
    const otherNoText = await call(t.app, a.admin.token, 'POST', `${curl}/archive`, { reason_code: 'OTHER' });
    expect(otherNoText.statusCode).toBe(422);
    expect(otherNoText.json().errors[0].field).toBe('reason_text');
    const archived = await call(t.app, a.admin.token, 'POST', `${curl}/archive`, {
      reason_code: 'CONTRACT_EXPIRED',
    });
    expect(archived.statusCode).toBe(200);
    expect(archived.json()).toMatchObject({
      status: 'archived',
      in_force: false,
      reason_code: 'CONTRACT_EXPIRED',
    });
    expect((await call(t.app, a.admin.token, 'POST', `${curl}/archive`, reason)).statusCode).toBe(409);
    expect((await call(t.app, a.admin.token, 'POST', `${curl}/activate`, {})).statusCode).toBe(409);

    const versions = (await call(t.app, a.admin.token, 'GET', `${curl}/versions`)).json().data;
    expect(versions.map((v: { change: string }) => v.change)).toEqual([
      'create',
      'update',
      'activate',
      'archive',
    ]);
    expect(versions[3]).toMatchObject({
      status_from: 'active',
      status_to: 'archived',
      reason_code: 'CONTRACT_EXPIRED',
    });
    const audit = await t.db.query<{ action: string }>(
      'SELECT action FROM audit_events WHERE resource_id = $1 ORDER BY seq',
      [c.contract_id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'integration_contract.create',
      'integration_contract.update',
      'integration_contract.activate',
      'integration_contract.archive',
    ]);
  });

  it('refuses unknown fields, foreign consent verticals and category mismatches', async () => {
    const i = await newIntegration();
    const base = url(i.integration_id, 'contracts');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ field_list: ['full_name', 'salary'] }, 'ERR_VAL_RULE_VIOLATION', 'field_list[1]'],
      [{ field_list: ['household.income'] }, 'ERR_VAL_RULE_VIOLATION', 'field_list[0]'],
      [
        { consent_requirements: { vertical_ids: [a.verticals.FIN] } },
        'ERR_VAL_RULE_VIOLATION',
        'consent_requirements.vertical_ids',
      ],
      [
        { consent_requirements: { vertical_ids: [] } },
        'ERR_VAL_INVALID_FORMAT',
        'consent_requirements.vertical_ids',
      ],
      [
        { consent_requirements: { vertical_ids: [a.verticals.HEALTH], other: 1 } },
        'ERR_VAL_UNKNOWN_FIELD',
        'consent_requirements.other',
      ],
      [{ data_categories: ['person'] }, 'ERR_VAL_RULE_VIOLATION', 'field_list[3]'],
      [{ data_categories: ['pets'] }, 'ERR_VAL_INVALID_FORMAT', 'data_categories[0]'],
      [{ field_list: [] }, 'ERR_VAL_INVALID_FORMAT', 'field_list'],
      [
        { active_until: new Date(Date.now() - 7200_000).toISOString() },
        'ERR_VAL_RULE_VIOLATION',
        'active_until',
      ],
      [{ purpose: undefined }, 'ERR_VAL_MISSING_FIELD', 'purpose'],
    ];
    for (const [overrides, code, field] of cases) {
      const res = await call(t.app, a.admin.token, 'POST', base, contractBody(overrides));
      expect(res.statusCode, `${JSON.stringify(overrides)}: ${res.body}`).toBe(422);
      expect(res.json().code).toBe(code);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const ok = (await call(t.app, a.admin.token, 'POST', base, contractBody())).json();
    const curl = `${base}/${ok.contract_id}`;
    const badPatch = await call(t.app, a.admin.token, 'PATCH', curl, { field_list: ['ssn'] });
    expect(badPatch.statusCode).toBe(422);
    const badConsent = await call(t.app, a.admin.token, 'PATCH', curl, {
      consent_requirements: { vertical_ids: [b.verticals.HEALTH] },
    });
    expect(badConsent.statusCode).toBe(422);
    expect((await call(t.app, a.admin.token, 'PATCH', curl, { status: 'active' })).statusCode).toBe(422);
    expect((await call(t.app, a.admin.token, 'PATCH', curl, {})).statusCode).toBe(422);
    // The integration may not drop a vertical its contracts require consent in.
    const drop = await call(t.app, a.admin.token, 'PATCH', url(i.integration_id), {
      vertical_ids: [a.verticals.EDU],
    });
    expect(drop.statusCode).toBe(422);
    expect(drop.json().code).toBe('ERR_VAL_RULE_VIOLATION');
    const missing = await call(t.app, a.admin.token, 'GET', `${base}/00000000-0000-4000-8000-000000000001`);
    expect(missing.statusCode).toBe(404);
  });

  it('contractInForce: active and inside [active_from, active_until)', async () => {
    const now = new Date('2030-06-01T00:00:00Z');
    const c = { status: 'active', active_from: '2030-01-01T00:00:00Z', active_until: '2030-06-01T00:00:00Z' };
    expect(contractInForce(c, new Date('2030-05-31T23:59:59Z'))).toBe(true);
    expect(contractInForce(c, now)).toBe(false);
    expect(contractInForce(c, new Date('2029-12-31T23:59:59Z'))).toBe(false);
    expect(contractInForce({ ...c, active_until: null }, now)).toBe(true);
    expect(contractInForce({ ...c, status: 'draft', active_until: null }, now)).toBe(false);
    expect(contractInForce({ ...c, status: 'archived', active_until: null }, now)).toBe(false);
    expect(
      contractInForce({ ...c, active_from: new Date('2030-01-01T00:00:00Z'), active_until: null }, now),
    ).toBe(true);

    // A contract that starts tomorrow is active but not in force yet; the exchange loader refuses it.
    const i = await newIntegration();
    const base = url(i.integration_id, 'contracts');
    const future = (
      await call(t.app, a.admin.token, 'POST', base, contractBody({ active_from: inDays(1) }))
    ).json();
    const act2 = await call(t.app, a.admin.token, 'POST', `${base}/${future.contract_id}/activate`, {});
    expect(act2.json()).toMatchObject({ status: 'active', in_force: false });
    const { contracts } = t.app.hearth.services.integrations;
    await expect(
      t.db.transaction((tx) => contracts.loadInForce(tx, a.tenantId, i.integration_id, future.contract_id), {
        tenantId: a.tenantId,
      }),
    ).rejects.toMatchObject({ code: 'ERR_STATE_CONFLICT', extra: { current_status: 'active' } });
    const loaded = await t.db.transaction(
      (tx) =>
        contracts.loadInForce(
          tx,
          a.tenantId,
          i.integration_id,
          future.contract_id,
          new Date(Date.now() + 2 * 86_400_000),
        ),
      { tenantId: a.tenantId },
    );
    expect(loaded.contract_id).toBe(future.contract_id);
    // Another integration's id does not find the contract.
    const other = await newIntegration();
    await expect(
      t.db.transaction(
        (tx) => contracts.loadInForce(tx, a.tenantId, other.integration_id, future.contract_id),
        {
          tenantId: a.tenantId,
        },
      ),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('archiving the integration archives its open contracts; deprecated takes no new contracts', async () => {
    const i = await reach('active');
    const base = url(i.integration_id, 'contracts');
    const c1 = (await call(t.app, a.admin.token, 'POST', base, contractBody())).json();
    const c2 = (await call(t.app, a.admin.token, 'POST', base, contractBody())).json();
    await call(t.app, a.admin.token, 'POST', `${base}/${c1.contract_id}/activate`, {});
    await act(a.admin.token, i.integration_id, 'deprecate', reason);
    const refused = await call(t.app, a.admin.token, 'POST', base, contractBody());
    expect(refused.statusCode).toBe(409);
    expect(refused.json().current_status).toBe('deprecated');
    expect(
      (await call(t.app, a.admin.token, 'POST', `${base}/${c2.contract_id}/activate`, {})).statusCode,
    ).toBe(409);
    await act(a.admin.token, i.integration_id, 'archive', { reason_code: 'CONTRACT_EXPIRED' });
    const list = (await call(t.app, a.admin.token, 'GET', base)).json().data;
    expect(list.map((c: { status: string }) => c.status)).toEqual(['archived', 'archived']);
    expect(list[0].reason_code).toBe('CONTRACT_EXPIRED');
    const patch = await call(t.app, a.admin.token, 'PATCH', `${base}/${c2.contract_id}`, { purpose: 'x' });
    expect(patch.statusCode).toBe(409);
  });
});

describe('templates (integration registry)', () => {
  const templateBody = (overrides: Record<string, unknown> = {}) => ({
    template_name: unique('Health information exchange'),
    partner_type: 'government',
    vertical_ids: ['HEALTH', 'EDU'],
    contract_template: {
      purpose: 'Clinic eligibility checks',
      data_categories: ['person'],
      field_list: ['full_name', 'date_of_birth'],
      consent_requirements: { vertical_ids: ['HEALTH'] },
    },
    ...overrides,
  });

  it('only ROOT creates templates; bad templates are refused', async () => {
    const byAdmin = await call(t.app, a.admin.token, 'POST', '/api/v1/integrations/registry', templateBody());
    expect(byAdmin.statusCode).toBe(403);
    const created = await call(t.app, root, 'POST', '/api/v1/integrations/registry', templateBody());
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ status: 'active', vertical_ids: ['HEALTH', 'EDU'] });
    expect(typeof created.json().template_id).toBe('string');
    expect(typeof created.json().created_at).toBe('string');
    const bad: [Record<string, unknown>, number][] = [
      [{ vertical_ids: [a.verticals.HEALTH] }, 422],
      [{ contract_template: { purpose: 'x', data_categories: ['person'], field_list: ['salary'] } }, 422],
      [
        {
          contract_template: {
            purpose: 'x',
            data_categories: ['person'],
            field_list: ['full_name'],
            consent_requirements: { vertical_ids: ['FIN'] },
          },
        },
        422,
      ],
      [
        {
          contract_template: {
            purpose: 'x',
            data_categories: ['person'],
            field_list: ['full_name'],
            extra: 1,
          },
        },
        422,
      ],
      [{ template_name: created.json().template_name }, 409],
    ];
    for (const [overrides, status] of bad) {
      const res = await call(t.app, root, 'POST', '/api/v1/integrations/registry', templateBody(overrides));
      expect(res.statusCode, `${JSON.stringify(overrides)}: ${res.body}`).toBe(status);
    }
  });

  it('lists templates for readers of any tenant (not captured by /integrations/:id)', async () => {
    const created = (
      await call(
        t.app,
        root,
        'POST',
        '/api/v1/integrations/registry',
        templateBody({ partner_type: 'international' }),
      )
    ).json();
    for (const token of [auditor.token, b.admin.token]) {
      const res = await call(
        t.app,
        token,
        'GET',
        '/api/v1/integrations/registry?partner_type=international&limit=200',
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().data.map((x: { template_id: string }) => x.template_id)).toContain(
        created.template_id,
      );
      expect(res.json().data.every((x: { partner_type: string }) => x.partner_type === 'international')).toBe(
        true,
      );
    }
    const ngo = await call(
      t.app,
      auditor.token,
      'GET',
      '/api/v1/integrations/registry?partner_type=NGO&status=active',
    );
    expect(ngo.json().data.map((x: { template_id: string }) => x.template_id)).not.toContain(
      created.template_id,
    );
    const registrar = await a.client({ roles: ['registrar'] });
    expect((await call(t.app, registrar.token, 'GET', '/api/v1/integrations/registry')).statusCode).toBe(403);
  });

  it('instantiates a draft integration and contract in a tenant, mapping vertical codes', async () => {
    const tpl = (await call(t.app, root, 'POST', '/api/v1/integrations/registry', templateBody())).json();
    const path = `/api/v1/integrations/registry/${tpl.template_id}/instantiate`;
    const res = await call(t.app, a.admin.token, 'POST', path, {
      tenant_id: a.tenantId,
      integration_name: unique('Clinic'),
      partner_name: 'District Health Office',
    });
    expect(res.statusCode, res.body).toBe(201);
    const i = res.json();
    expect(i).toMatchObject({
      status: 'draft',
      tenant_id: a.tenantId,
      partner_type: 'government',
      template_id: tpl.template_id,
      vertical_ids: [a.verticals.HEALTH, a.verticals.EDU],
    });
    expect(typeof i.created_at).toBe('string');
    const contract = (
      await call(t.app, a.admin.token, 'GET', `${url(i.integration_id, 'contracts')}/${i.contract_id}`)
    ).json();
    expect(contract).toMatchObject({
      status: 'draft',
      template_id: tpl.template_id,
      field_list: ['full_name', 'date_of_birth'],
      consent_requirements: { vertical_ids: [a.verticals.HEALTH] },
    });

    // An explicit vertical list must still cover the template's consent verticals.
    const narrow = await call(t.app, a.admin.token, 'POST', path, {
      tenant_id: a.tenantId,
      integration_name: unique('Clinic'),
      partner_name: 'x',
      vertical_ids: [a.verticals.EDU],
    });
    expect(narrow.statusCode).toBe(422);
    const explicit = await call(t.app, a.admin.token, 'POST', path, {
      tenant_id: a.tenantId,
      integration_name: unique('Clinic'),
      partner_name: 'x',
      vertical_ids: [a.verticals.HEALTH],
    });
    expect(explicit.statusCode).toBe(201);
    expect(explicit.json().vertical_ids).toEqual([a.verticals.HEALTH]);
  });

  it('a tenant admin instantiates only into its own tenant; ROOT into any', async () => {
    const tpl = (await call(t.app, root, 'POST', '/api/v1/integrations/registry', templateBody())).json();
    const path = `/api/v1/integrations/registry/${tpl.template_id}/instantiate`;
    const body = { tenant_id: b.tenantId, integration_name: unique('Clinic'), partner_name: 'x' };
    const cross = await call(t.app, a.admin.token, 'POST', path, body);
    expect(cross.statusCode).toBe(404);
    const byReviewer = await call(t.app, reviewer.token, 'POST', path, { ...body, tenant_id: a.tenantId });
    expect(byReviewer.statusCode).toBe(403);
    const byRoot = await call(t.app, root, 'POST', path, body);
    expect(byRoot.statusCode, byRoot.body).toBe(201);
    expect(byRoot.json().tenant_id).toBe(b.tenantId);
    expect(byRoot.json().vertical_ids).toEqual([b.verticals.HEALTH, b.verticals.EDU]);
    expect((await call(t.app, b.admin.token, 'GET', url(byRoot.json().integration_id))).statusCode).toBe(200);
    expect((await call(t.app, a.admin.token, 'GET', url(byRoot.json().integration_id))).statusCode).toBe(404);
    const unknownTemplate = await call(
      t.app,
      root,
      'POST',
      '/api/v1/integrations/registry/00000000-0000-4000-8000-000000000001/instantiate',
      body,
    );
    expect(unknownTemplate.statusCode).toBe(404);
    const unknownTenant = await call(t.app, root, 'POST', path, {
      ...body,
      tenant_id: '00000000-0000-4000-8000-000000000001',
    });
    expect(unknownTenant.statusCode).toBe(404);
  });

  it('a vertical code the tenant lacks is refused', async () => {
    const tenant = await createTestTenant(t);
    const code = `S${randomBytes(3).toString('hex').toUpperCase()}`;
    const v = await call(t.app, tenant.admin.token, 'POST', '/api/v1/verticals', { code, name: 'Social' });
    expect(v.statusCode).toBe(201);
    const tpl = (
      await call(t.app, root, 'POST', '/api/v1/integrations/registry', templateBody({ vertical_ids: [code] }))
    ).json();
    // Its consent verticals (HEALTH) are not among the template's verticals: refused at creation.
    expect(tpl.template_id).toBeUndefined();
    const ok = (
      await call(
        t.app,
        root,
        'POST',
        '/api/v1/integrations/registry',
        templateBody({
          vertical_ids: [code],
          contract_template: { purpose: 'x', data_categories: ['person'], field_list: ['full_name'] },
        }),
      )
    ).json();
    const path = `/api/v1/integrations/registry/${ok.template_id}/instantiate`;
    const into = await call(t.app, tenant.admin.token, 'POST', path, {
      tenant_id: tenant.tenantId,
      integration_name: unique('Social'),
      partner_name: 'x',
    });
    expect(into.statusCode, into.body).toBe(201);
    expect(into.json().vertical_ids).toEqual([v.json().vertical_id]);
    const contract = (
      await call(
        t.app,
        tenant.admin.token,
        'GET',
        `${url(into.json().integration_id, 'contracts')}/${into.json().contract_id}`,
      )
    ).json();
    expect(contract.consent_requirements.vertical_ids).toEqual([v.json().vertical_id]);
    const lacking = await call(t.app, b.admin.token, 'POST', path, {
      tenant_id: b.tenantId,
      integration_name: unique('Social'),
      partner_name: 'x',
    });
    expect(lacking.statusCode).toBe(422);
    expect(lacking.json().detail).toContain(code);
  });
});

describe('tenant isolation', () => {
  it("another tenant's integration answers 404 on every route and never appears in lists", async () => {
    const i = await reach('active');
    const id = i.integration_id;
    const c = (await call(t.app, a.admin.token, 'POST', url(id, 'contracts'), contractBody())).json();
    const curl = `${url(id, 'contracts')}/${c.contract_id}`;
    const routes: [string, string, unknown][] = [
      ['GET', url(id), undefined],
      ['PATCH', url(id), { partner_name: 'x' }],
      ['GET', url(id, 'versions'), undefined],
      ['POST', url(id, 'request-review'), requestBody],
      ['POST', url(id, 'review'), {}],
      ['POST', url(id, 'approve'), approveBody],
      ['POST', url(id, 'activate'), {}],
      ['POST', url(id, 'restrict'), reason],
      ['POST', url(id, 'suspend'), reason],
      ['POST', url(id, 'deprecate'), reason],
      ['POST', url(id, 'archive'), reason],
      ['GET', url(id, 'contracts'), undefined],
      [
        'POST',
        url(id, 'contracts'),
        { ...contractBody(), consent_requirements: { vertical_ids: [b.verticals.HEALTH] } },
      ],
      ['GET', curl, undefined],
      ['PATCH', curl, { purpose: 'x' }],
      ['GET', `${curl}/versions`, undefined],
      ['POST', `${curl}/activate`, {}],
      ['POST', `${curl}/archive`, reason],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(t.app, b.admin.token, method, path, body);
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBe(404);
      expect(res.json().code).toBe('ERR_NOT_FOUND');
    }
    const list = await call(t.app, b.admin.token, 'GET', '/api/v1/integrations?limit=200');
    expect(list.json().data.every((x: { tenant_id: string }) => x.tenant_id === b.tenantId)).toBe(true);
    expect(list.json().data.map((x: { integration_id: string }) => x.integration_id)).not.toContain(id);
    // Nothing changed in A.
    const still = (await call(t.app, a.admin.token, 'GET', url(id))).json();
    expect(still.status).toBe('active');
    expect(still.version_id).toBe(i.version_id);
  });

  it('row-level security limits integration tables to the transaction tenant', async () => {
    await newIntegration(b);
    for (const table of ['integrations', 'integration_versions', 'integration_contracts']) {
      const rows = await t.db.transaction(
        async (tx) => (await tx.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${table}`)).rows,
        { tenantId: b.tenantId },
      );
      expect(new Set(rows.map((r) => r.tenant_id)).size, table).toBeLessThanOrEqual(1);
      expect(
        rows.every((r) => r.tenant_id === b.tenantId),
        table,
      ).toBe(true);
    }
    await expect(
      t.db.transaction(
        (tx) =>
          tx.query(
            `INSERT INTO integrations (tenant_id, id, integration_name, partner_name, partner_type, vertical_ids, active_from)
             VALUES ($1, gen_random_uuid(), 'sneak', 'x', 'NGO', ARRAY[$2::uuid], now())`,
            [a.tenantId, a.verticals.HEALTH],
          ),
        { tenantId: b.tenantId },
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      t.db.transaction(
        (tx) =>
          tx.query(
            `INSERT INTO integration_templates (id, template_name, partner_type, vertical_codes, contract_template)
             VALUES (gen_random_uuid(), 'sneak', 'NGO', '{HEALTH}', '{}')`,
          ),
        { tenantId: b.tenantId },
      ),
    ).rejects.toThrow(/permission denied/);
  });
});
