import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../src/db/migrate.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson, grantConsent } from './helpers/registry.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

const get = (tenant: TestTenant, url: string) => call(t.app, tenant.admin.token, 'GET', url);

describe('membership roles: base roles only (seed 004)', () => {
  it('the membership-role vocabulary is fixed: adding a code is a 409 naming the vocabulary', async () => {
    const vocab = (await get(a, '/api/v1/vocabularies')).json().data;
    expect(vocab.find((v: { code: string }) => v.code === 'membership-role')).toMatchObject({
      extendable: false,
    });
    const add = await call(t.app, a.admin.token, 'POST', '/api/v1/vocabularies/membership-role/codes', {
      code: 'lodger',
      display: 'Lodger',
    });
    expect(add.statusCode, add.body).toBe(409);
    expect(add.json().code).toBe('ERR_STATE_CONFLICT');
    expect(add.json().detail).toMatch(/membership-role vocabulary is fixed/);
    const root = await rootToken(t.app);
    const asRoot = await call(
      t.app,
      root,
      'POST',
      '/api/v1/vocabularies/membership-role/codes',
      { code: 'lodger', display: 'Lodger' },
      { 'x-tenant-id': a.tenantId },
    );
    expect(asRoot.statusCode).toBe(409);
    const codes = (await get(a, '/api/v1/vocabularies/membership-role/codes')).json().data;
    expect(codes.every((c: { is_system: boolean }) => c.is_system)).toBe(true);
  });

  it('the migration fixes an older tenant: its added codes are deprecated, refused on write, kept in history', async () => {
    const leader = await createPerson(t.app, b.admin.token, { full_name: 'Legacy Leader' });
    const lodger = await createPerson(t.app, b.admin.token, { full_name: 'Legacy Lodger' });
    const other = await createPerson(t.app, b.admin.token, { full_name: 'Later Lodger' });
    const hh = await call(t.app, b.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Legacy',
      leader_id: leader.person_id,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const householdId = hh.json().household_id;
    // The state of a tenant seeded before the fix: an extendable vocabulary with a tenant code in use.
    await t.db.query(
      `UPDATE vocabularies SET extendable = true WHERE tenant_id = $1 AND code = 'membership-role'`,
      [b.tenantId],
    );
    await t.db.query(
      `INSERT INTO vocabulary_codes (tenant_id, vocabulary, code, display) VALUES ($1, 'membership-role', 'lodger', 'Lodger')`,
      [b.tenantId],
    );
    await t.db.query(
      `INSERT INTO household_members (tenant_id, id, household_id, person_id, relationship_type, effective_from)
       VALUES ($1, gen_random_uuid(), $2, $3, 'lodger', '2020-01-01')`,
      [b.tenantId, householdId, lodger.person_id],
    );
    const file = fs.readdirSync(MIGRATIONS_DIR).find((f) => f.endsWith('_membership_roles_base_only.sql'));
    expect(file).toBeDefined();
    await t.db.exec(fs.readFileSync(path.join(MIGRATIONS_DIR, file!), 'utf8'));

    const vocab = (await get(b, '/api/v1/vocabularies')).json().data;
    expect(vocab.find((v: { code: string }) => v.code === 'membership-role').extendable).toBe(false);
    const current = (await get(b, '/api/v1/vocabularies/membership-role/codes')).json().data;
    expect(current.map((c: { code: string }) => c.code)).not.toContain('lodger');
    const all = (await get(b, '/api/v1/vocabularies/membership-role/codes?include_deprecated=true')).json()
      .data;
    expect(all.find((c: { code: string }) => c.code === 'lodger')).toMatchObject({
      is_system: false,
      deprecated: true,
    });

    const add = await call(t.app, b.admin.token, 'POST', `/api/v1/households/${householdId}/members`, {
      person_id: other.person_id,
      relationship_type: 'lodger',
      effective_from: '2024-01-01',
    });
    expect(add.statusCode, add.body).toBe(422);
    expect(add.json().errors[0].field).toBe('relationship_type');
    expect(add.json().allowed_values).toContain('member');
    expect(add.json().allowed_values).not.toContain('lodger');
    const joined = await call(t.app, b.admin.token, 'POST', '/api/v1/persons', {
      full_name: 'Lodger Via Create',
      date_of_birth: '1990-01-01',
      gender: '1',
      household_id: householdId,
      relationship_type: 'lodger',
    });
    expect(joined.statusCode).toBe(422);
    expect(
      (
        await call(t.app, b.admin.token, 'POST', '/api/v1/vocabularies/membership-role/codes', {
          code: 'boarder',
          display: 'Boarder',
        })
      ).statusCode,
    ).toBe(409);

    // History stays: the membership written before the fix is still listed with its role.
    const members = (await get(b, `/api/v1/households/${householdId}/members`)).json().data;
    expect(members).toContainEqual(
      expect.objectContaining({ person_id: lodger.person_id, relationship_type: 'lodger' }),
    );
    const base = await call(t.app, b.admin.token, 'POST', `/api/v1/households/${householdId}/members`, {
      person_id: other.person_id,
      relationship_type: 'non_relative',
      effective_from: '2024-01-01',
    });
    expect(base.statusCode, base.body).toBe(201);
  });
});

describe('household status words (docs/decisions/0008)', () => {
  it('restore returns the status before archiving; `active` is refused as a household status', async () => {
    const leader = await createPerson(t.app, a.admin.token);
    const active = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Active?',
      leader_id: leader.person_id,
      status: 'active',
    });
    expect(active.statusCode).toBe(422);
    const created = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Verified one',
      leader_id: leader.person_id,
      status: 'verified',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().status).toBe('verified');
    const id = created.json().household_id;
    const archived = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${id}/archive`, {
      reason_code: 'MOVED',
    });
    expect(archived.json().status).toBe('archived');
    const withTarget = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${id}/restore`, {
      reason_code: 'CREATED_IN_ERROR',
      status: 'active',
    });
    expect(withTarget.statusCode).toBe(422);
    expect((await get(a, `/api/v1/households/${id}`)).json().status).toBe('archived');
    const restored = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${id}/restore`, {
      reason_code: 'CREATED_IN_ERROR',
    });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json().status).toBe('verified');
    const patch = await call(t.app, a.admin.token, 'PATCH', `/api/v1/households/${id}`, { status: 'active' });
    expect(patch.statusCode).toBe(422);
    // `active` stays a search filter meaning "not archived".
    await grantConsent(t.app, a.admin.token, leader.person_id, a.verticals.HEALTH);
    const found = await get(a, `/api/v1/households/search?status=active&limit=200`);
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().data.map((h: { household_id: string }) => h.household_id)).toContain(id);
  });
});
