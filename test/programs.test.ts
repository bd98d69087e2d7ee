import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson, grantConsent } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let registrar: IssuedTestClient;
let auditor: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  [registrar, auditor] = await Promise.all([
    a.client({ roles: ['registrar'] }),
    a.client({ roles: ['auditor'] }),
  ]);
});
afterAll(() => t?.close());

const code = (prefix = 'P') => `${prefix}-${randomBytes(4).toString('hex')}`;
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
type Json = Record<string, any>;

async function newProgram(
  overrides: Record<string, unknown> = {},
  token = registrar.token,
  tenant = a,
): Promise<Json> {
  const res = await call(t.app, token, 'POST', '/api/v1/programs', {
    name: 'Cash transfer',
    code: code(),
    vertical_id: tenant.verticals.HEALTH,
    target_type: 'individual',
    ...overrides,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function newHousehold(token = a.admin.token): Promise<{ household_id: string; leader_id: string }> {
  const leader = await createPerson(t.app, token);
  const res = await call(t.app, token, 'POST', '/api/v1/households', {
    household_name: 'Otieno household',
    leader_id: leader.person_id,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { household_id: res.json().household_id, leader_id: leader.person_id };
}

const enrol = (programId: string, body: Record<string, unknown>, token = registrar.token) =>
  call(t.app, token, 'POST', `/api/v1/programs/${programId}/memberships`, body);

const change = (
  programId: string,
  id: string,
  body: Record<string, unknown>,
  headers = {},
  token = registrar.token,
) => call(t.app, token, 'PATCH', `/api/v1/programs/${programId}/memberships/${id}`, body, headers);

describe('programmes', () => {
  it('creates a programme with identifiers, period and provenance; audit, version and outbox rows are written', async () => {
    const c = code('CT');
    const res = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/programs',
      {
        name: 'Cash transfer for orphans',
        code: c,
        description: 'Monthly cash',
        vertical_id: a.verticals.HEALTH,
        target_type: 'group',
        period: { start: '2024-01-01', end: '2026-12-31' },
        eligibility_criteria: 'households with orphans',
        identifiers: [{ system: 'urn:gov:ke:sp:programme', value: c }],
      },
      { 'x-source-system': 'mis' },
    );
    expect(res.statusCode, res.body).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({
      code: c,
      target_type: 'group',
      status: 'active',
      vertical_code: 'HEALTH',
      period: { start: '2024-01-01', end: '2026-12-31' },
      identifiers: [{ system: 'urn:gov:ke:sp:programme', value: c }],
      archived: false,
      version_id: 1,
      created_by: registrar.clientId,
      source_system: 'mis',
    });
    expect(res.headers.location).toBe(`/api/v1/programs/${p.program_id}`);
    expect(res.headers.etag).toBe('"1"');

    const outbox = await t.db.query<{ type: string }>(
      'SELECT type FROM outbox_events WHERE tenant_id = $1 AND resource_id = $2',
      [a.tenantId, p.program_id],
    );
    expect(outbox.rows.map((r) => r.type)).toEqual(['program.created']);
    const versions = await t.db.query<{ change: string }>(
      `SELECT change FROM record_versions WHERE tenant_id = $1 AND resource_type = 'program' AND resource_id = $2`,
      [a.tenantId, p.program_id],
    );
    expect(versions.rows).toEqual([{ change: 'create' }]);
    const audit = await t.db.query<{ action: string; program_id: string }>(
      `SELECT action, program_id FROM audit_events WHERE tenant_id = $1 AND resource_id = $2`,
      [a.tenantId, p.program_id],
    );
    expect(audit.rows).toEqual([{ action: 'program.create', program_id: p.program_id }]);
  });

  it('refuses bad input with 4xx and writes nothing', async () => {
    const before = (
      await call(t.app, a.admin.token, 'GET', '/api/v1/programs?limit=200&include_archived=true')
    ).json().data.length;
    const base = { name: 'X', code: code(), vertical_id: a.verticals.HEALTH, target_type: 'individual' };
    const cases: [Record<string, unknown>, number][] = [
      [{ ...base, extra: 1 }, 422],
      [{ ...base, target_type: 'family' }, 422],
      [{ ...base, vertical_id: b.verticals.HEALTH }, 422],
      [{ ...base, period: { start: '2025-01-01', end: '2024-01-01' } }, 422],
      [{ ...base, identifiers: [{ system: 'urn:hearth:id:program', value: 'x' }] }, 422],
      [{ ...base, identifiers: [{ system: 'not a uri', value: 'x' }] }, 422],
      [{ ...base, code: 'has spaces' }, 422],
      [{ ...base, name: undefined }, 422],
    ];
    for (const [body, status] of cases) {
      const res = await call(t.app, registrar.token, 'POST', '/api/v1/programs', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const p = await newProgram();
    const dup = await call(t.app, registrar.token, 'POST', '/api/v1/programs', {
      ...base,
      code: p.code.toLowerCase(),
    });
    expect(dup.statusCode).toBe(409);
    const after = (
      await call(t.app, a.admin.token, 'GET', '/api/v1/programs?limit=200&include_archived=true')
    ).json().data.length;
    expect(after).toBe(before + 1);
  });

  it('refuses no token (401), a missing scope (403) and another tenant’s programme (404)', async () => {
    const p = await newProgram();
    expect((await call(t.app, null, 'GET', '/api/v1/programs')).statusCode).toBe(401);
    expect((await call(t.app, auditor.token, 'GET', `/api/v1/programs/${p.program_id}`)).statusCode).toBe(
      200,
    );
    const denied = await call(t.app, auditor.token, 'POST', '/api/v1/programs', {
      name: 'X',
      code: code(),
      vertical_id: a.verticals.HEALTH,
      target_type: 'individual',
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().required_scope).toBe('programs:write');
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['PATCH', '', { name: 'Y' }],
      ['POST', '/archive', { reason_code: 'DATA_ERROR' }],
      ['GET', '/memberships', undefined],
    ] as const) {
      const res = await call(t.app, b.admin.token, method, `/api/v1/programs/${p.program_id}${path}`, body);
      expect(res.statusCode, `${method} ${path}`).toBe(404);
    }
    expect((await call(t.app, a.admin.token, 'GET', '/api/v1/programs/not-a-uuid')).statusCode).toBe(400);
  });

  it('lists with filters and keyset pages', async () => {
    const g = await newProgram({ name: 'Zebra grants', target_type: 'group', vertical_id: a.verticals.EDU });
    await newProgram({ name: 'Zebra loans', status: 'ended' });
    const byName = (await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=zebra')).json();
    expect(byName.data).toHaveLength(2);
    const groups = (
      await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=zebra&target_type=group')
    ).json();
    expect(groups.data.map((x: Json) => x.program_id)).toEqual([g.program_id]);
    const ended = (
      await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=zebra&status=ended')
    ).json();
    expect(ended.data).toHaveLength(1);
    const page1 = (await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=zebra&limit=1')).json();
    expect(page1.data).toHaveLength(1);
    const page2 = (
      await call(
        t.app,
        registrar.token,
        'GET',
        `/api/v1/programs?name=zebra&limit=1&cursor=${page1.next_cursor}`,
      )
    ).json();
    expect(page2.data).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
    expect(page2.data[0].program_id).not.toBe(page1.data[0].program_id);
    expect((await call(t.app, registrar.token, 'GET', '/api/v1/programs?cursor=zzz')).statusCode).toBe(400);
  });

  it('updates with If-Match, keeps ended programmes ended and refuses fields that cannot change', async () => {
    const p = await newProgram();
    const url = `/api/v1/programs/${p.program_id}`;
    const stale = await call(t.app, registrar.token, 'PATCH', url, { name: 'New' }, { 'if-match': '"7"' });
    expect(stale.statusCode).toBe(412);
    const ok = await call(
      t.app,
      registrar.token,
      'PATCH',
      url,
      { name: 'New', status: 'ended' },
      { 'if-match': '"1"' },
    );
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'New', status: 'ended', version_id: 2 });
    expect(ok.headers.etag).toBe('"2"');
    expect((await call(t.app, registrar.token, 'PATCH', url, { status: 'active' })).statusCode).toBe(409);
    const fixed = await call(t.app, registrar.token, 'PATCH', url, { target_type: 'group' });
    expect(fixed.statusCode).toBe(422);
    expect(fixed.json().errors[0].field).toBe('target_type');
    const same = await call(t.app, registrar.token, 'PATCH', url, { name: 'New' });
    expect(same.json().version_id).toBe(2);
    const ids = await call(t.app, registrar.token, 'PATCH', url, {
      identifiers: [{ system: 'urn:x:programme', value: p.code }],
    });
    expect(ids.json()).toMatchObject({
      version_id: 3,
      identifiers: [{ system: 'urn:x:programme', value: p.code }],
    });
    const q = await newProgram();
    const clash = await call(t.app, registrar.token, 'PATCH', `/api/v1/programs/${q.program_id}`, {
      identifiers: [{ system: 'urn:x:programme', value: p.code }],
    });
    expect(clash.statusCode).toBe(409);
  });

  it('archives with a reason; archived programmes are read-only and hidden from lists by default', async () => {
    const p = await newProgram({ name: 'Archivable' });
    const url = `/api/v1/programs/${p.program_id}`;
    expect((await call(t.app, registrar.token, 'POST', `${url}/archive`, {})).statusCode).toBe(422);
    const other = await call(t.app, registrar.token, 'POST', `${url}/archive`, { reason_code: 'OTHER' });
    expect(other.statusCode).toBe(422);
    const res = await call(t.app, registrar.token, 'POST', `${url}/archive`, {
      reason_code: 'CREATED_IN_ERROR',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ archived: true, version_id: 2 });
    expect(
      (await call(t.app, registrar.token, 'POST', `${url}/archive`, { reason_code: 'DATA_ERROR' }))
        .statusCode,
    ).toBe(409);
    expect((await call(t.app, registrar.token, 'PATCH', url, { name: 'x' })).statusCode).toBe(409);
    const person = await createPerson(t.app, registrar.token);
    expect((await enrol(p.program_id, { beneficiary: person.person_id })).statusCode).toBe(409);
    const listed = (await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=Archivable')).json();
    expect(listed.data).toHaveLength(0);
    const all = (
      await call(t.app, registrar.token, 'GET', '/api/v1/programs?name=Archivable&include_archived=true')
    ).json();
    expect(all.data).toHaveLength(1);
    expect((await call(t.app, registrar.token, 'GET', url)).statusCode).toBe(200);
  });
});

describe('memberships', () => {
  it('enrols a person in an individual programme and a household in a group programme; target types must match', async () => {
    const ind = await newProgram();
    const grp = await newProgram({ target_type: 'group' });
    const person = await createPerson(t.app, registrar.token);
    const hh = await newHousehold();

    const m = await enrol(ind.program_id, { beneficiary: person.person_id });
    expect(m.statusCode, m.body).toBe(201);
    expect(m.json()).toMatchObject({
      program_id: ind.program_id,
      beneficiary: person.person_id,
      beneficiary_type: 'person',
      status: 'draft',
      enrollment_date: null,
      version_id: 1,
    });
    expect(m.headers.location).toBe(
      `/api/v1/programs/${ind.program_id}/memberships/${m.json().membership_id}`,
    );

    const wrong1 = await enrol(ind.program_id, { beneficiary: hh.household_id });
    expect(wrong1.statusCode).toBe(422);
    expect(wrong1.json().detail).toContain('household');
    const wrong2 = await enrol(grp.program_id, { beneficiary: person.person_id });
    expect(wrong2.statusCode).toBe(422);
    const nobody = await enrol(grp.program_id, { beneficiary: '0190aaaa-0000-7000-8000-000000000000' });
    expect(nobody.statusCode).toBe(422);

    const g = await enrol(grp.program_id, { beneficiary: hh.household_id, status: 'enrolled' });
    expect(g.statusCode, g.body).toBe(201);
    expect(g.json()).toMatchObject({ beneficiary_type: 'household', status: 'enrolled' });
    expect(g.json().enrollment_date).toBe(new Date().toISOString().slice(0, 10));

    const again = await enrol(ind.program_id, { beneficiary: person.person_id, status: 'enrolled' });
    expect(again.statusCode).toBe(409);
    const future = await enrol(grp.program_id, {
      beneficiary: (await newHousehold()).household_id,
      status: 'enrolled',
      enrollment_date: '2999-01-01',
    });
    expect(future.statusCode).toBe(422);
    const draftDate = await enrol(ind.program_id, {
      beneficiary: (await createPerson(t.app, registrar.token)).person_id,
      enrollment_date: '2024-01-01',
    });
    expect(draftDate.statusCode).toBe(422);

    const otherTenantPerson = await createPerson(t.app, b.admin.token);
    expect((await enrol(ind.program_id, { beneficiary: otherTenantPerson.person_id })).statusCode).toBe(422);
    const events = await t.db.query<{ type: string; person_id: string }>(
      `SELECT type, person_id FROM outbox_events WHERE tenant_id = $1 AND resource_id = $2`,
      [a.tenantId, g.json().membership_id],
    );
    expect(events.rows).toEqual([{ type: 'program_membership.created', person_id: hh.leader_id }]);
  });

  it('follows the status machine with If-Match; exits need a reason; closed memberships are final', async () => {
    const p = await newProgram();
    const person = await createPerson(t.app, registrar.token);
    const m = (await enrol(p.program_id, { beneficiary: person.person_id })).json();
    const id = m.membership_id;
    expect((await change(p.program_id, id, { status: 'paused' })).statusCode).toBe(409);
    expect((await change(p.program_id, id, { status: 'enrolled' }, { 'if-match': '"9"' })).statusCode).toBe(
      412,
    );
    const enrolled = await change(
      p.program_id,
      id,
      { status: 'enrolled', enrollment_date: '2024-03-01' },
      { 'if-match': '"1"' },
    );
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    expect(enrolled.json()).toMatchObject({
      status: 'enrolled',
      enrollment_date: '2024-03-01',
      version_id: 2,
    });
    const paused = await change(p.program_id, id, { status: 'paused', reason_code: 'ROUTINE_REVIEW' });
    expect(paused.json()).toMatchObject({ status: 'paused', status_reason_code: 'ROUTINE_REVIEW' });
    expect(
      (await change(p.program_id, id, { status: 'enrolled', enrollment_date: '2024-04-01' })).statusCode,
    ).toBe(422);
    expect((await change(p.program_id, id, { status: 'enrolled' })).json().enrollment_date).toBe(
      '2024-03-01',
    );
    expect((await change(p.program_id, id, { status: 'exited' })).statusCode).toBe(422);
    expect(
      (await change(p.program_id, id, { status: 'exited', exit_reason: 'x', exit_date: '2024-01-01' }))
        .statusCode,
    ).toBe(422);
    expect((await change(p.program_id, id, { status: 'paused', exit_reason: 'x' })).statusCode).toBe(422);
    expect(
      (await change(p.program_id, id, { status: 'exited', reason_code: 'OTHER', exit_reason: 'x' }))
        .statusCode,
    ).toBe(422);
    const exited = await change(p.program_id, id, {
      status: 'exited',
      exit_reason: 'graduated',
      exit_date: '2024-06-30',
    });
    expect(exited.statusCode, exited.body).toBe(200);
    expect(exited.json()).toMatchObject({
      status: 'exited',
      exit_date: '2024-06-30',
      exit_reason: 'graduated',
    });
    expect((await change(p.program_id, id, { status: 'enrolled' })).statusCode).toBe(409);
    // A closed membership is history: the beneficiary may be enrolled again.
    expect(
      (await enrol(p.program_id, { beneficiary: person.person_id, status: 'enrolled' })).statusCode,
    ).toBe(201);

    const versions = await t.db.query<{ change: string }>(
      `SELECT change FROM record_versions WHERE tenant_id = $1 AND resource_id = $2 ORDER BY version_id`,
      [a.tenantId, id],
    );
    expect(versions.rows.map((r) => r.change)).toEqual([
      'create',
      'status_change',
      'status_change',
      'status_change',
      'status_change',
    ]);
    const dq = (
      await enrol(p.program_id, { beneficiary: (await createPerson(t.app, registrar.token)).person_id })
    ).json();
    expect((await change(p.program_id, dq.membership_id, { status: 'not_eligible' })).json().status).toBe(
      'not_eligible',
    );
  });

  it('lists, filters and reads memberships; another programme’s membership is 404', async () => {
    const p = await newProgram();
    const q = await newProgram();
    const p1 = await createPerson(t.app, registrar.token);
    const p2 = await createPerson(t.app, registrar.token);
    const m1 = (await enrol(p.program_id, { beneficiary: p1.person_id, status: 'enrolled' })).json();
    await enrol(p.program_id, { beneficiary: p2.person_id });
    const all = (
      await call(t.app, auditor.token, 'GET', `/api/v1/programs/${p.program_id}/memberships`)
    ).json();
    expect(all.data).toHaveLength(2);
    const enrolled = (
      await call(t.app, auditor.token, 'GET', `/api/v1/programs/${p.program_id}/memberships?status=enrolled`)
    ).json();
    expect(enrolled.data.map((x: Json) => x.membership_id)).toEqual([m1.membership_id]);
    const byBen = (
      await call(
        t.app,
        auditor.token,
        'GET',
        `/api/v1/programs/${p.program_id}/memberships?beneficiary=${p2.person_id}`,
      )
    ).json();
    expect(byBen.data).toHaveLength(1);
    const page = (
      await call(t.app, auditor.token, 'GET', `/api/v1/programs/${p.program_id}/memberships?limit=1`)
    ).json();
    expect(page.next_cursor).not.toBeNull();
    const one = await call(
      t.app,
      auditor.token,
      'GET',
      `/api/v1/programs/${p.program_id}/memberships/${m1.membership_id}`,
    );
    expect(one.statusCode).toBe(200);
    expect(one.headers.etag).toBe('"1"');
    expect(
      (
        await call(
          t.app,
          auditor.token,
          'GET',
          `/api/v1/programs/${q.program_id}/memberships/${m1.membership_id}`,
        )
      ).statusCode,
    ).toBe(404);
    expect(
      (await change(p.program_id, m1.membership_id, { status: 'paused' }, {}, auditor.token)).statusCode,
    ).toBe(403);
    expect(
      (await call(t.app, auditor.token, 'GET', `/api/v1/programs/${p.program_id}/memberships?status=gone`))
        .statusCode,
    ).toBe(400);
  });

  it('an ended programme takes no new enrolments but lets memberships exit', async () => {
    const p = await newProgram();
    const person = await createPerson(t.app, registrar.token);
    const m = (await enrol(p.program_id, { beneficiary: person.person_id, status: 'enrolled' })).json();
    await call(t.app, registrar.token, 'PATCH', `/api/v1/programs/${p.program_id}`, { status: 'ended' });
    expect(
      (await enrol(p.program_id, { beneficiary: (await createPerson(t.app, registrar.token)).person_id }))
        .statusCode,
    ).toBe(409);
    expect((await change(p.program_id, m.membership_id, { status: 'paused' })).statusCode).toBe(409);
    expect(
      (await change(p.program_id, m.membership_id, { status: 'exited', exit_reason: 'programme ended' }))
        .statusCode,
    ).toBe(200);
  });
});

describe('allowed programmes, verticals and consent', () => {
  it('a client limited to programmes sees only those programmes and their memberships', async () => {
    const mine = await newProgram({ name: 'Allowed one' });
    const other = await newProgram({ name: 'Allowed not' });
    const person = await createPerson(t.app, registrar.token);
    const theirs = (await enrol(other.program_id, { beneficiary: person.person_id })).json();
    const limited = await a.client({ roles: ['registrar'], allowed_programs: [mine.program_id] });
    const list = (await call(t.app, limited.token, 'GET', '/api/v1/programs?limit=200')).json();
    expect(list.data.map((x: Json) => x.program_id)).toEqual([mine.program_id]);
    expect((await call(t.app, limited.token, 'GET', `/api/v1/programs/${other.program_id}`)).statusCode).toBe(
      404,
    );
    expect(
      (await call(t.app, limited.token, 'GET', `/api/v1/programs/${other.program_id}/memberships`))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await call(
          t.app,
          limited.token,
          'GET',
          `/api/v1/programs/${other.program_id}/memberships/${theirs.membership_id}`,
        )
      ).statusCode,
    ).toBe(404);
    expect((await enrol(other.program_id, { beneficiary: person.person_id }, limited.token)).statusCode).toBe(
      404,
    );
    expect((await enrol(mine.program_id, { beneficiary: person.person_id }, limited.token)).statusCode).toBe(
      201,
    );
    const create = await call(t.app, limited.token, 'POST', '/api/v1/programs', {
      name: 'X',
      code: code(),
      vertical_id: a.verticals.HEALTH,
      target_type: 'individual',
    });
    expect(create.statusCode).toBe(403);
  });

  it('a client limited to verticals sees only their programmes', async () => {
    const edu = await newProgram({ vertical_id: a.verticals.EDU, name: 'Vertical edu' });
    const health = await newProgram({ name: 'Vertical health' });
    const limited = await a.client({ roles: ['registrar'], vertical_ids: [a.verticals.HEALTH] });
    expect((await call(t.app, limited.token, 'GET', `/api/v1/programs/${edu.program_id}`)).statusCode).toBe(
      404,
    );
    expect(
      (await call(t.app, limited.token, 'GET', `/api/v1/programs/${health.program_id}`)).statusCode,
    ).toBe(200);
    const create = await call(t.app, limited.token, 'POST', '/api/v1/programs', {
      name: 'X',
      code: code(),
      vertical_id: a.verticals.EDU,
      target_type: 'individual',
    });
    expect(create.statusCode).toBe(403);
  });

  it('a consent-bound client neither sees nor enrols beneficiaries without consent', async () => {
    const p = await newProgram();
    const consented = await createPerson(t.app, a.admin.token);
    const hidden = await createPerson(t.app, a.admin.token);
    await grantConsent(t.app, a.admin.token, consented.person_id, a.verticals.HEALTH);
    const hm = (await enrol(p.program_id, { beneficiary: hidden.person_id }, a.admin.token)).json();
    await enrol(p.program_id, { beneficiary: consented.person_id }, a.admin.token);
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    const list = (
      await call(t.app, bound.token, 'GET', `/api/v1/programs/${p.program_id}/memberships`)
    ).json();
    expect(list.data.map((x: Json) => x.beneficiary)).toEqual([consented.person_id]);
    const one = await call(
      t.app,
      bound.token,
      'GET',
      `/api/v1/programs/${p.program_id}/memberships/${hm.membership_id}`,
    );
    expect(one.statusCode).toBe(404);
    const missing = await call(
      t.app,
      bound.token,
      'GET',
      `/api/v1/programs/${p.program_id}/memberships/0190aaaa-0000-7000-8000-000000000000`,
    );
    expect(missing.json().detail).toBe(one.json().detail);
    const q = await newProgram();
    const refused = await enrol(q.program_id, { beneficiary: hidden.person_id }, bound.token);
    const unknown = await enrol(
      q.program_id,
      { beneficiary: '0190aaaa-0000-7000-8000-000000000000' },
      bound.token,
    );
    expect(refused.statusCode).toBe(422);
    expect(refused.json().detail).toBe(unknown.json().detail);
    expect((await enrol(q.program_id, { beneficiary: consented.person_id }, bound.token)).statusCode).toBe(
      201,
    );
  });

  it('row-level security keeps programme rows inside their tenant', async () => {
    await newProgram();
    const rows = await t.db.transaction(
      (tx) => tx.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM programs'),
      { tenantId: b.tenantId },
    );
    expect(rows.rows.every((r) => r.tenant_id === b.tenantId)).toBe(true);
  });
});
