// Dashboard statistics (issue 16, decision 0101): counts kept by triggers follow every write,
// another tenant's rows are never counted, and breakdowns follow the reader's access policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { ahead, consentKit, DAY } from './helpers/consent.js';
import { contractedIntegration } from './helpers/integration.js';
import { createPerson } from './helpers/registry.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

const { verifiedPerson, evidence, capture } = consentKit(() => ({ t, a }));

async function stats(token: string, what: string, headers: Record<string, string> = {}) {
  const res = await call(t.app, token, 'GET', `/api/v1/stats/${what}`, undefined, headers);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

function yearsAgo(years: number): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 10);
}

describe('person statistics', () => {
  it('count by status, gender, age band and month, in the tenant only, and follow updates', async () => {
    const child = await createPerson(t.app, a.admin.token, { gender: '1', date_of_birth: yearsAgo(3) });
    await createPerson(t.app, a.admin.token, { gender: '2', date_of_birth: yearsAgo(30) });
    await createPerson(t.app, a.admin.token, { gender: '2', date_of_birth: yearsAgo(70) });
    const unknown = await createPerson(t.app, a.admin.token, { gender: '1', date_of_birth: yearsAgo(40) });
    await createPerson(t.app, b.admin.token);
    await createPerson(t.app, b.admin.token);

    const verify = await call(t.app, a.admin.token, 'POST', `/api/v1/persons/${child.person_id}/verify`, {});
    expect(verify.statusCode, verify.body).toBe(200);
    const archive = await call(t.app, a.admin.token, 'POST', `/api/v1/persons/${unknown.person_id}/archive`, {
      reason_code: 'DUPLICATE_RECORD',
    });
    expect(archive.statusCode, archive.body).toBe(200);

    const s = await stats(a.admin.token, 'persons');
    expect(s.total).toBe(4);
    expect(s.active).toBe(3);
    expect(s.by_status).toEqual([
      { status: 'active', verification_status: 'provisional', count: 2 },
      { status: 'active', verification_status: 'verified', count: 1 },
      { status: 'archived', verification_status: 'provisional', count: 1 },
    ]);
    // Active persons only: the archived one (gender 1, 40 years old) is not in the breakdowns.
    expect(s.by_gender).toEqual([
      { gender: '1', count: 1 },
      { gender: '2', count: 2 },
    ]);
    expect(s.by_age_band).toEqual([
      { band: '0-4', count: 1 },
      { band: '5-17', count: 0 },
      { band: '18-59', count: 1 },
      { band: '60+', count: 1 },
      { band: 'unknown', count: 0 },
    ]);
    expect(s.by_registration_month).toHaveLength(12);
    expect(s.by_registration_month.at(-1)).toEqual({ month: new Date().toISOString().slice(0, 7), count: 4 });
    expect(s.withheld).toEqual([]);

    const other = await stats(b.admin.token, 'persons');
    expect(other.total).toBe(2);
    // ROOT names the tenant.
    const root = await rootToken(t.app);
    expect((await stats(root, 'persons', { 'x-tenant-id': b.tenantId })).total).toBe(2);
    expect((await call(t.app, root, 'GET', '/api/v1/stats/persons')).statusCode).toBe(400);

    // An edit that changes a counted field moves the person between cells.
    const patch = await call(t.app, a.admin.token, 'PATCH', `/api/v1/persons/${child.person_id}`, {
      gender: '2',
    });
    expect(patch.statusCode, patch.body).toBe(200);
    const after = await stats(a.admin.token, 'persons');
    expect(after.by_gender).toEqual([{ gender: '2', count: 3 }]);
    expect(after.total).toBe(4);
  });

  it('withhold breakdowns by fields the reader sees only under consent, and refuse third parties', async () => {
    const auditor = await a.client({ roles: ['auditor'] });
    const s = await stats(auditor.token, 'persons');
    expect(s.by_gender).toBeNull();
    expect(s.by_age_band).toBeNull();
    expect(s.withheld).toEqual(['gender', 'age_band']);
    expect(s.total).toBeGreaterThan(0);

    const approver = await a.client({ roles: ['approver'] });
    expect((await call(t.app, approver.token, 'GET', '/api/v1/stats/persons')).statusCode).toBe(403);
    // A consent-bound staff client is a third party to the access policy.
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    const refused = await call(t.app, bound.token, 'GET', '/api/v1/stats/persons');
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().code).toBe('ERR_SEC_FORBIDDEN');
    expect((await call(t.app, null, 'GET', '/api/v1/stats/persons')).statusCode).toBe(401);
  });
});

describe('household, consent, import and integration statistics', () => {
  it('count households by status in the tenant only', async () => {
    const leader = await createPerson(t.app, a.admin.token);
    const hh = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Otieno',
      leader_id: leader.person_id,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const s = await stats(a.admin.token, 'households');
    expect(s).toMatchObject({ total: 1, by_status: [{ status: 'provisional', count: 1 }] });
    expect((await stats(b.admin.token, 'households')).total).toBe(0);
  });

  it('count consents by status and vertical, expiring soon and in grace', async () => {
    const p = await verifiedPerson();
    const q = await verifiedPerson();
    await capture(p.person_id, { ...(await evidence()), active_until: ahead(10 * DAY) });
    const late = await capture(q.person_id, { ...(await evidence()), active_until: ahead(90 * DAY) });
    const s = await stats(a.admin.token, 'consents');
    expect(s.by_status).toEqual([{ status: 'active', count: 2 }]);
    expect(s.by_vertical).toEqual([
      { vertical_id: a.verticals.HEALTH, vertical_code: 'HEALTH', status: 'active', count: 2 },
    ]);
    expect(s).toMatchObject({ expiring_within_days: 30, expiring_soon: 1, in_grace: 0 });
    expect((await stats(a.admin.token, 'consents?expiring_within_days=120')).expiring_soon).toBe(2);

    // Its window passed: expired by the sweep, in grace until grace_until.
    await t.db.query(
      `UPDATE consents SET active_from = now() - interval '200 days', active_until = now() - interval '1 day',
              grace_until = now() + interval '29 days' WHERE tenant_id = $1 AND id = $2`,
      [a.tenantId, late.consent_id],
    );
    expect((await stats(a.admin.token, 'consents')).in_grace).toBe(1);
    await t.app.hearth.services.consents.expireDue(new Date());
    const expired = await stats(a.admin.token, 'consents');
    expect(expired.by_status).toEqual([
      { status: 'active', count: 1 },
      { status: 'expired', count: 1 },
    ]);
    expect(expired.in_grace).toBe(1);

    // A reader limited to another vertical counts none of them; the other tenant has none.
    const other = Object.entries(a.verticals).find(([code]) => code !== 'HEALTH')?.[1];
    if (other) {
      const limited = await a.client({ roles: ['registrar'], vertical_ids: [other] });
      expect((await stats(limited.token, 'consents')).by_status).toEqual([]);
    }
    expect((await stats(b.admin.token, 'consents')).by_status).toEqual([]);
    expect(
      (await call(t.app, a.admin.token, 'GET', '/api/v1/stats/consents?expiring_within_days=0')).statusCode,
    ).toBe(400);
  });

  it('count integrations by state and recent imports, and refuse the integration itself', async () => {
    const partner = await contractedIntegration(t, a);
    const s = await stats(a.admin.token, 'integrations');
    expect(s.by_status).toContainEqual({ status: 'active', count: 1 });
    expect((await stats(b.admin.token, 'integrations')).total).toBe(0);
    expect((await call(t.app, partner.token, 'GET', '/api/v1/stats/integrations')).statusCode).toBe(403);

    const imports = await stats(a.admin.token, 'imports');
    expect(imports).toMatchObject({ days: 30, runs: 0, by_status: [], by_day: [] });
  });
});
