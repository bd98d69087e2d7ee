// Consent lifecycle (issue 5): capture, transitions and their refusals, attachments and evidence,
// versions, and the expiry sweep. Enforcement on reads is in consent-access.test.ts.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { ago, ahead, consentKit, DAY } from './helpers/consent.js';
import { createPerson, nid, upload } from './helpers/registry.js';
import {
  call,
  createTestTenant,
  type IssuedTestClient,
  rootToken,
  type TestTenant,
} from './helpers/tenant.js';

const MAX_ATTACHMENT = 4096;

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let registrar: IssuedTestClient;
let reviewer: IssuedTestClient;
let auditor: IssuedTestClient;
/** A staff client the tenant marked consent-bound. */
let bound: IssuedTestClient;
/** An integration-role client (consent-bound by its role), with read scopes through a staff role. */
let integration: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp({ HEARTH_ATTACHMENT_MAX_BYTES: String(MAX_ATTACHMENT) });
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  registrar = await a.client({ roles: ['registrar'] });
  reviewer = await a.client({ roles: ['reviewer'] });
  auditor = await a.client({ roles: ['auditor'] });
  bound = await a.client({ roles: ['registrar'], consent_bound: true });
  integration = await a.client({ roles: ['integration', 'auditor'] });
});
afterAll(() => t?.close());

const { post, get, verifiedPerson, evidence, captureBody, capture, backdate } = consentKit(() => ({ t, a }));

describe('consent capture', () => {
  it('is refused with 422 for a provisional person, and nothing is written', async () => {
    const p = await createPerson(t.app, a.admin.token);
    const res = await post(a.admin.token, `/api/v1/persons/${p.person_id}/consents`, {
      ...captureBody(a),
      ...(await evidence()),
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ code: 'ERR_VAL_RULE_VIOLATION' });
    expect(res.json().detail).toContain('provisional');
    expect((await get(a.admin.token, `/api/v1/persons/${p.person_id}/consents`)).json().data).toEqual([]);
  });

  it('stays pending without both evidence and a verification document; with both it is active', async () => {
    const p = await verifiedPerson();
    const ev = await evidence();
    expect((await capture(p.person_id)).status).toBe('pending');
    expect((await capture(p.person_id, { evidence_attachment_ids: ev.evidence_attachment_ids })).status).toBe(
      'pending',
    );
    expect(
      (
        await capture(p.person_id, {
          verification_document_attachment_id: ev.verification_document_attachment_id,
        })
      ).status,
    ).toBe('pending');
    const until = ahead(100 * DAY);
    const full = await capture(p.person_id, { ...ev, active_until: until });
    expect(full).toMatchObject({
      status: 'active',
      version_id: 1,
      capture_mode: 'online',
      person_id: p.person_id,
    });
    expect(Date.parse(full.grace_until as string) - Date.parse(until)).toBe(30 * DAY);
    const listed = await get(registrar.token, `/api/v1/persons/${p.person_id}/consents?status=pending`);
    expect(listed.json().data).toHaveLength(3);
  });

  it('stays pending until verified when the tenant requires verification, and when captured offline', async () => {
    const strict = await createTestTenant(t, { consent_requires_verification: true });
    const p = await verifiedPerson(strict);
    const c = await capture(p.person_id, await evidence(strict), strict);
    expect(c.status).toBe('pending');
    const v = await post(strict.admin.token, `/api/v1/consents/${c.consent_id}/verify`, {
      verified_by: 'supervisor-3',
    });
    expect(v.statusCode, v.body).toBe(200);
    expect(v.json()).toMatchObject({ status: 'active', verified_by: 'supervisor-3' });
    expect(v.json().verified_at).toBeTruthy();
    const q = await verifiedPerson();
    expect((await capture(q.person_id, { ...(await evidence()), capture_mode: 'offline' })).status).toBe(
      'pending',
    );
  });

  it('refuses bad windows, unknown evidence, foreign verticals and callers without the right, writing nothing', async () => {
    const p = await verifiedPerson();
    const url = `/api/v1/persons/${p.person_id}/consents`;
    const ev = await evidence();
    const foreign = await upload(t.app, b.admin.token);
    const eduOnly = await a.client({ roles: ['registrar'], vertical_ids: [a.verticals.EDU] });
    const cases: [string | null, Record<string, unknown>, number][] = [
      [a.admin.token, captureBody(a, { active_until: ago(2 * 60_000) }), 422],
      [a.admin.token, captureBody(a, { active_from: ahead(DAY), active_until: ahead(DAY - 1000) }), 422],
      [
        a.admin.token,
        captureBody(a, { ...ev, evidence_attachment_ids: ['00000000-0000-4000-8000-000000000001'] }),
        422,
      ],
      [a.admin.token, captureBody(a, { ...ev, evidence_attachment_ids: [foreign] }), 422],
      [a.admin.token, captureBody(a, { vertical_id: b.verticals.HEALTH }), 422],
      [a.admin.token, captureBody(a, { capture_mode: 'paper' }), 422],
      [a.admin.token, captureBody(a, { colour: 'blue' }), 422],
      [a.admin.token, { vertical_id: a.verticals.HEALTH }, 422],
      [eduOnly.token, captureBody(a), 403],
      [auditor.token, captureBody(a), 403],
      [null, captureBody(a), 401],
    ];
    for (const [token, body, status] of cases) {
      const res = await post(token, url, body);
      expect(res.statusCode, `${JSON.stringify(body)} → ${res.body}`).toBe(status);
    }
    expect((await post(b.admin.token, url, captureBody(b))).statusCode).toBe(404);
    await post(a.admin.token, `/api/v1/persons/${p.person_id}/archive`, { reason_code: 'DATA_ERROR' });
    const archived = await post(a.admin.token, url, captureBody(a, ev));
    expect(archived.statusCode).toBe(409);
    expect(archived.json().current_status).toBe('archived');
    expect((await get(a.admin.token, url)).json().data).toEqual([]);
  });
});

describe('consent transitions', () => {
  const bodies: Record<string, () => Promise<Record<string, unknown>>> = {
    verify: async () => ({}),
    reject: async () => ({ reason_code: 'IDENTITY_MISMATCH' }),
    withdraw: async () => ({ reason_code: 'USER_REQUEST' }),
    renew: async () => ({ ...captureBody(a), vertical_id: undefined, ...(await evidence()) }),
    expire: async () => ({ system_reason: 'test' }),
  };
  const allowed: Record<string, string[]> = {
    verify: ['pending'],
    reject: ['pending'],
    withdraw: ['pending', 'active', 'expired'],
    renew: ['pending', 'active', 'expired'],
    expire: ['active'],
  };

  it('refuses every illegal transition with 409 naming the current status', async () => {
    const p = await verifiedPerson();
    const byStatus: Record<string, string> = {};
    byStatus.pending = (
      await capture(p.person_id, { ...(await evidence()), capture_mode: 'offline' })
    ).consent_id;
    byStatus.active = (await capture(p.person_id, await evidence())).consent_id;
    for (const [status, action, body] of [
      ['rejected', 'reject', { reason_code: 'SCOPE_INVALID' }],
      ['withdrawn', 'withdraw', { reason_code: 'USER_REQUEST' }],
      ['expired', 'expire', {}],
    ] as const) {
      const from = status === 'rejected' ? { capture_mode: 'offline' } : {};
      const id = (await capture(p.person_id, { ...(await evidence()), ...from })).consent_id;
      const res = await post(a.admin.token, `/api/v1/consents/${id}/${action}`, body);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe(status);
      byStatus[status] = id;
    }
    for (const [status, id] of Object.entries(byStatus)) {
      for (const action of Object.keys(allowed)) {
        if (allowed[action].includes(status)) continue;
        const before = (await get(a.admin.token, `/api/v1/consents/${id}`)).json();
        const res = await post(a.admin.token, `/api/v1/consents/${id}/${action}`, await bodies[action]());
        expect(res.statusCode, `${action} from ${status}: ${res.body}`).toBe(409);
        expect(res.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: status });
        expect(res.json().detail).toContain(status);
        expect((await get(a.admin.token, `/api/v1/consents/${id}`)).json()).toEqual(before);
      }
    }
  });

  it('verify needs the evidence and the consents:verify scope', async () => {
    const p = await verifiedPerson();
    const bare = await capture(p.person_id);
    const res = await post(a.admin.token, `/api/v1/consents/${bare.consent_id}/verify`);
    expect(res.statusCode).toBe(422);
    const c = await capture(p.person_id, { ...(await evidence()), capture_mode: 'offline' });
    expect((await post(registrar.token, `/api/v1/consents/${c.consent_id}/verify`)).statusCode).toBe(403);
    expect((await post(b.admin.token, `/api/v1/consents/${c.consent_id}/verify`)).statusCode).toBe(404);
    const ok = await post(reviewer.token, `/api/v1/consents/${c.consent_id}/verify`);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'active', verified_by: reviewer.clientId, version_id: 2 });
  });

  it('reject takes a listed reason (text with OTHER); a rejected consent grants nothing and is re-captured', async () => {
    const p = await verifiedPerson();
    const c = await capture(p.person_id, { ...(await evidence()), capture_mode: 'offline' });
    const url = `/api/v1/consents/${c.consent_id}/reject`;
    expect((await post(reviewer.token, url, { reason_code: 'NOT_A_CODE' })).statusCode).toBe(422);
    const noText = await post(reviewer.token, url, { reason_code: 'OTHER' });
    expect(noText.statusCode).toBe(422);
    expect(noText.json().errors[0].field).toBe('reason_text');
    const res = await post(reviewer.token, url, {
      reason_code: 'OTHER',
      reason_text: 'signature does not match',
      rejected_by: 'supervisor-9',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'rejected',
      rejected_by: 'supervisor-9',
      reason_code: 'OTHER',
      grace_until: null,
    });
    expect(res.json().rejected_at).toBeTruthy();
    expect((await get(bound.token, `/api/v1/persons/${p.person_id}`)).statusCode).toBe(404);
    expect((await get(registrar.token, `/api/v1/persons/${p.person_id}`)).json().consent_status).toBe(
      'rejected',
    );
    const renew = await post(a.admin.token, `/api/v1/consents/${c.consent_id}/renew`, await bodies.renew());
    expect(renew.statusCode).toBe(409);
    expect(renew.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: 'rejected' });
    expect(renew.json().detail).toContain('POST /persons/{person_id}/consents');
    await capture(p.person_id, await evidence());
    expect((await get(bound.token, `/api/v1/persons/${p.person_id}`)).statusCode).toBe(200);
  });

  it('withdraw takes a listed reason and blocks reads at once', async () => {
    const p = await verifiedPerson(a, { given_name: 'Achieng' });
    const c = await capture(p.person_id, await evidence());
    // A third party without a contract sees the basic fields of a consented person (decision 0012).
    expect((await get(bound.token, `/api/v1/persons/${p.person_id}`)).json()).toMatchObject({
      full_name: expect.any(String),
      consent_status: 'active',
    });
    expect((await get(registrar.token, `/api/v1/persons/${p.person_id}`)).json().given_name).toBe('Achieng');
    const url = `/api/v1/consents/${c.consent_id}/withdraw`;
    expect((await post(registrar.token, url, { reason_code: 'IDENTITY_MISMATCH' })).statusCode).toBe(422);
    expect((await post(registrar.token, url, { reason_code: 'OTHER' })).statusCode).toBe(422);
    const res = await post(registrar.token, url, { reason_code: 'SAFETY_RISK' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'withdrawn', reason_code: 'SAFETY_RISK', grace_until: null });
    expect(Date.parse(res.json().effective_at)).toBeLessThanOrEqual(Date.now());
    expect((await get(bound.token, `/api/v1/persons/${p.person_id}`)).statusCode).toBe(404);
    const staff = (await get(registrar.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(staff).toMatchObject({ given_name: null, consent_status: 'withdrawn' });
    expect(staff.masked_fields).toContain('given_name');
    const listed = await get(bound.token, '/api/v1/persons?limit=200');
    expect(listed.json().data.map((x: { person_id: string }) => x.person_id)).not.toContain(p.person_id);
  });

  it('renew opens a new window; expire sets grace_until = expiry + the tenant grace period', async () => {
    const p = await verifiedPerson();
    const c = await capture(p.person_id, { ...(await evidence()), active_until: ahead(10 * DAY) });
    const until = ahead(400 * DAY);
    const renewed = await post(a.admin.token, `/api/v1/consents/${c.consent_id}/renew`, {
      active_from: ago(1000),
      active_until: until,
      capture_mode: 'online',
      captured_by: 'field-officer-2',
      ...(await evidence()),
    });
    expect(renewed.statusCode, renewed.body).toBe(200);
    expect(renewed.json()).toMatchObject({ status: 'active', version_id: 2, captured_by: 'field-officer-2' });
    expect(Date.parse(renewed.json().grace_until) - Date.parse(until)).toBe(30 * DAY);
    const expired = await post(registrar.token, `/api/v1/consents/${c.consent_id}/expire`, {});
    expect(expired.statusCode, expired.body).toBe(200);
    const e = expired.json();
    expect(e.status).toBe('expired');
    expect(Date.parse(e.grace_until) - Date.parse(e.expired_at)).toBe(30 * DAY);

    const short = await createTestTenant(t, { consent_grace_days: 10 });
    const q = await verifiedPerson(short);
    const sc = await capture(q.person_id, await evidence(short), short);
    const se = (await post(short.admin.token, `/api/v1/consents/${sc.consent_id}/expire`, {})).json();
    expect(Date.parse(se.grace_until) - Date.parse(se.expired_at)).toBe(10 * DAY);
    // An expired consent may be renewed into a new window.
    const back = await post(short.admin.token, `/api/v1/consents/${sc.consent_id}/renew`, {
      active_from: ago(1000),
      capture_mode: 'online',
      captured_by: 'x',
      ...(await evidence(short)),
    });
    expect(back.json()).toMatchObject({ status: 'active', grace_until: null, expired_at: null });
    const tooLong = await post(await rootToken(t.app), '/api/v1/tenants', {
      name: 'Too long grace',
      code: `g-${nid().toLowerCase()}`,
      settings: { consent_grace_days: 91 },
    });
    expect(tooLong.statusCode).toBe(422);
  });
});

describe('attachments and evidence', () => {
  const raw = (token: string | null, type: string, payload: Buffer) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/attachments?filename=sig.png',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': type },
      payload,
    });

  it('stores a file with its hash, within size and type limits', async () => {
    const bytes = Buffer.from('a signature image');
    const res = await raw(registrar.token, 'image/png', bytes);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      content_type: 'image/png',
      filename: 'sig.png',
    });
    const id = res.json().attachment_id;
    const big = await raw(registrar.token, 'image/png', Buffer.alloc(MAX_ATTACHMENT + 1, 1));
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect((await raw(registrar.token, 'text/plain', bytes)).statusCode).toBe(415);
    expect((await raw(registrar.token, 'application/json', Buffer.from('{"a":1}'))).statusCode).toBe(415);
    expect((await raw(registrar.token, 'image/png', Buffer.alloc(0))).statusCode).toBe(400);
    expect((await raw(null, 'image/png', bytes)).statusCode).toBe(401);
    expect((await raw(auditor.token, 'image/png', bytes)).statusCode).toBe(403);
    const file = await get(a.admin.token, `/api/v1/attachments/${id}`);
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(bytes)).toBe(true);
    expect((await get(registrar.token, `/api/v1/attachments/${id}`)).statusCode).toBe(403);
    expect((await get(b.admin.token, `/api/v1/attachments/${id}`)).statusCode).toBe(404);
  });

  it('evidence ids are masked unless the caller holds sensitive:read, whose access is audited', async () => {
    const p = await verifiedPerson();
    const ev = await evidence();
    const c = await capture(p.person_id, ev);
    const url = `/api/v1/consents/${c.consent_id}/evidence`;
    const masked = (await get(registrar.token, url)).json();
    expect(masked.masked).toBe(true);
    expect(masked.masked_fields).toEqual(['evidence_attachment_ids', 'verification_document_attachment_id']);
    expect(masked.evidence_attachment_ids[0]).toMatch(/^\*+[0-9a-f]{4}$/);
    expect(masked.evidence_attachment_ids[0].slice(-4)).toBe(ev.evidence_attachment_ids[0].slice(-4));
    expect(JSON.stringify(masked)).not.toContain(ev.verification_document_attachment_id);
    const clear = (await get(a.admin.token, url)).json();
    expect(clear).toMatchObject({ ...ev, masked: false, masked_fields: [] });
    const audit = await get(
      a.admin.token,
      `/api/v1/audit-events?action=consent.evidence_access&resource_id=${c.consent_id}`,
    );
    expect(audit.json().data.map((e: { actor_id: string }) => e.actor_id)).toEqual([a.admin.clientId]);
  });
});

describe('consent versions', () => {
  it('keeps a version per change, readable only by ROOT and tenant admins', async () => {
    const p = await verifiedPerson();
    const c = await capture(p.person_id, { ...(await evidence()), capture_mode: 'offline' });
    await post(reviewer.token, `/api/v1/consents/${c.consent_id}/verify`);
    await post(registrar.token, `/api/v1/consents/${c.consent_id}/withdraw`, {
      reason_code: 'OTHER',
      reason_text: 'moved away',
    });
    const url = `/api/v1/consents/${c.consent_id}/versions`;
    const list = await get(a.admin.token, url);
    expect(list.statusCode, list.body).toBe(200);
    expect(
      list
        .json()
        .data.map((v: { version_id: number; change: string; status: string }) => [
          v.version_id,
          v.change,
          v.status,
        ]),
    ).toEqual([
      [1, 'capture', 'pending'],
      [2, 'verify', 'active'],
      [3, 'withdraw', 'withdrawn'],
    ]);
    const detail = await get(a.admin.token, `${url}/3`);
    expect(detail.json()).toMatchObject({
      consent_id: c.consent_id,
      version_id: 3,
      reason_code: 'OTHER',
      reason_text: 'moved away',
      capture_mode: 'offline',
    });
    expect(detail.json().evidence_attachment_ids).toHaveLength(1);
    expect((await get(a.admin.token, `${url}/9`)).statusCode).toBe(404);
    const root = await call(t.app, await rootToken(t.app), 'GET', url, undefined, {
      'x-tenant-id': a.tenantId,
    });
    expect(root.statusCode).toBe(200);
    for (const who of [registrar, reviewer, auditor, bound, integration]) {
      for (const u of [url, `${url}/1`]) {
        const res = await get(who.token, u);
        expect(res.statusCode, u).toBe(403);
        expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
      }
    }
    expect((await get(b.admin.token, url)).statusCode).toBe(404);
  });
});

describe('consent expiry sweep', () => {
  it('expires active consents whose window passed, with grace, a version, an audit and an outbox event', async () => {
    const s = await createTestTenant(t, { consent_grace_days: 7 });
    const p = await verifiedPerson(s);
    const due = await capture(p.person_id, { ...(await evidence(s)), active_until: ahead(DAY) }, s);
    const later = await capture(p.person_id, { ...(await evidence(s)), active_until: ahead(10 * DAY) }, s);
    const pending = await capture(p.person_id, { active_until: ahead(DAY) }, s);
    const summary = await t.app.hearth.services.consents.expireDue(new Date(Date.now() + 2 * DAY));
    expect(summary.expired).toBeGreaterThanOrEqual(1);
    const got = async (id: string) => (await get(s.admin.token, `/api/v1/consents/${id}`)).json();
    const e = await got(due.consent_id);
    expect(e).toMatchObject({ status: 'expired', expired_at: due.active_until, version_id: 2 });
    expect(Date.parse(e.grace_until) - Date.parse(e.active_until)).toBe(7 * DAY);
    expect((await got(later.consent_id)).status).toBe('active');
    expect((await got(pending.consent_id)).status).toBe('pending');
    const versions = (await get(s.admin.token, `/api/v1/consents/${due.consent_id}/versions`)).json().data;
    expect(versions.map((v: { change: string }) => v.change)).toEqual(['capture', 'expire']);
    const audit = await get(
      s.admin.token,
      `/api/v1/audit-events?action=consent.expire&resource_id=${due.consent_id}`,
    );
    expect(audit.json().data).toHaveLength(1);
    const { rows } = await t.db.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM outbox_events WHERE tenant_id = $1 AND resource_id = $2 ORDER BY event_id`,
      [s.tenantId, due.consent_id],
    );
    expect(rows.map((r) => r.type)).toEqual(['consent.captured', 'consent.expired']);
    expect(JSON.stringify(rows[1].data)).not.toContain('Amina');
    // A second sweep finds nothing more to do for that consent.
    await t.app.hearth.services.consents.expireDue(new Date(Date.now() + 2 * DAY));
    expect((await got(due.consent_id)).version_id).toBe(2);
  });

  it('runs as the job runner’s periodic consent-expiry task', async () => {
    const s = await createTestTenant(t);
    const p = await verifiedPerson(s);
    const c = await capture(p.person_id, { ...(await evidence(s)), active_until: ahead(DAY) }, s);
    await backdate(c.consent_id, 2);
    await t.app.hearth.services.jobs.runPeriodic('consent-expiry');
    const e = (await get(s.admin.token, `/api/v1/consents/${c.consent_id}`)).json();
    expect(e).toMatchObject({ status: 'expired', expired_at: e.active_until });
  });
});
