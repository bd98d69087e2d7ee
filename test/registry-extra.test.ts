import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../src/db/migrate.js';
import { createTestApp, TEST_ROOT, type TestApp } from './helpers/app.js';
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

interface AuditRow {
  action: string;
  actor_id: string;
  resource_id: string | null;
  severity: string;
  correlation_id: string | null;
  details: Record<string, unknown> | null;
}
async function auditEvents(tenant: TestTenant, query: string): Promise<AuditRow[]> {
  const res = await get(tenant, `/api/v1/audit-events?limit=200&${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data;
}

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

describe('identity changes are audited as such (seed 004)', () => {
  it('a PATCH of identities records person.identity_change; other changes do not', async () => {
    const number = `IDC${Date.now()}`;
    const p = await createPerson(t.app, a.admin.token, { identity_number: number });
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const url = `/api/v1/persons/${p.person_id}`;
    const name = await call(t.app, a.admin.token, 'PATCH', url, { given_name: 'Only' });
    expect(name.statusCode, name.body).toBe(200);
    expect(await auditEvents(a, `action=person.identity_change&resource_id=${p.person_id}`)).toEqual([]);

    const identities = [
      { identity_type: 'national_id', identity_number: number },
      { identity_type: 'passport', identity_number: `PP${Date.now()}` },
    ];
    const res = await call(t.app, a.admin.token, 'PATCH', url, { identities });
    expect(res.statusCode, res.body).toBe(200);
    const events = await auditEvents(a, `action=person.identity_change&resource_id=${p.person_id}`);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor_id: a.admin.clientId,
      severity: 'normal',
      details: { before: 1, after: 2 },
    });
    const update = await auditEvents(a, `action=person.update&resource_id=${p.person_id}`);
    expect(update.at(-1)?.details).toEqual({ fields: ['identities'] });
    const versions = (await get(a, `${url}/versions`)).json().data;
    expect(versions.at(-1)).toMatchObject({ change: 'update', fields: ['identities'] });

    // The same identities again change nothing, so nothing more is audited as an identity change.
    const same = await call(t.app, a.admin.token, 'PATCH', url, { identities });
    expect(same.statusCode).toBe(200);
    expect(await auditEvents(a, `action=person.identity_change&resource_id=${p.person_id}`)).toHaveLength(1);
  });
});

describe('geo areas', () => {
  it('lists areas with cursor paging and filters, reads one, and keeps tenants apart', async () => {
    const c = await createTestTenant(t);
    const tok = c.admin.token;
    const country = await call(t.app, tok, 'POST', '/api/v1/geo-areas', {
      name: 'Kenya',
      code: 'KE',
      level: 0,
    });
    expect(country.statusCode, country.body).toBe(201);
    const countryId = country.json().geo_id;
    const ids = [countryId];
    for (const name of ['Nairobi', 'Mombasa', 'Kisumu']) {
      const r = await call(t.app, tok, 'POST', '/api/v1/geo-areas', {
        name,
        level: 1,
        parent_geo_id: countryId,
        centroid_lat: -1.28,
        centroid_lon: 36.82,
      });
      expect(r.statusCode, r.body).toBe(201);
      ids.push(r.json().geo_id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(
        c,
        `/api/v1/geo-areas?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((g: { geo_id: string }) => g.geo_id));
      cursor = page.next_cursor;
      if (cursor) expect(cursor).not.toMatch(/^\d+$/);
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual([...ids].sort());

    const children = (await get(c, `/api/v1/geo-areas?parent_geo_id=${countryId}`)).json();
    expect(children.data.map((g: { name: string }) => g.name).sort()).toEqual([
      'Kisumu',
      'Mombasa',
      'Nairobi',
    ]);
    expect(children.next_cursor).toBeNull();
    const top = (await get(c, '/api/v1/geo-areas?level=0')).json().data;
    expect(top.map((g: { geo_id: string }) => g.geo_id)).toEqual([countryId]);

    const one = await get(c, `/api/v1/geo-areas/${ids[1]}`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({
      geo_id: ids[1],
      parent_geo_id: countryId,
      name: 'Nairobi',
      level: 1,
      centroid_lat: -1.28,
      centroid_lon: 36.82,
    });
    expect((await get(c, '/api/v1/geo-areas/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await get(a, `/api/v1/geo-areas/${ids[1]}`)).statusCode).toBe(404);
    expect((await get(a, `/api/v1/geo-areas?parent_geo_id=${countryId}`)).json().data).toEqual([]);
    const registrar = await c.client({ roles: ['registrar'] });
    expect((await call(t.app, registrar.token, 'GET', '/api/v1/geo-areas')).statusCode).toBe(200);
    expect(
      (await call(t.app, registrar.token, 'POST', '/api/v1/geo-areas', { name: 'x', level: 0 })).statusCode,
    ).toBe(403);
  });

  it('an unknown but well-formed geo_id is a 422 naming the field, on persons and households', async () => {
    const unknown = '01900000-0000-7000-8000-000000000000';
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/persons', {
      full_name: 'Nowhere Person',
      date_of_birth: '1991-01-01',
      gender: '2',
      geo_id: unknown,
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('ERR_VAL_RULE_VIOLATION');
    expect(res.json().errors[0]).toMatchObject({ field: 'geo_id' });
    const foreign = (
      await call(t.app, b.admin.token, 'POST', '/api/v1/geo-areas', { name: 'B only', level: 0 })
    ).json().geo_id;
    const other = await call(t.app, a.admin.token, 'POST', '/api/v1/persons', {
      full_name: 'Foreign Area Person',
      date_of_birth: '1991-01-01',
      gender: '2',
      geo_id: foreign,
    });
    expect(other.statusCode).toBe(422);
    const leader = await createPerson(t.app, a.admin.token);
    const hh = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Nowhere',
      leader_id: leader.person_id,
      geo_id: unknown,
    });
    expect(hh.statusCode).toBe(422);
    expect(hh.json().errors[0].field).toBe('geo_id');
    const patch = await call(t.app, a.admin.token, 'PATCH', `/api/v1/persons/${leader.person_id}`, {
      geo_id: unknown,
    });
    expect(patch.statusCode).toBe(422);
  });
});

describe('person extensions are validated against registered schemas (native POST /persons)', () => {
  beforeAll(async () => {
    const farmer = await call(t.app, a.admin.token, 'POST', '/api/v1/extension-schemas', {
      name: 'farmer',
      applies_to: 'person',
      schema: {
        type: 'object',
        required: ['acres'],
        additionalProperties: false,
        properties: { acres: { type: 'number', minimum: 0 }, crop: { type: 'string' } },
      },
    });
    expect(farmer.statusCode, farmer.body).toBe(201);
    const dwelling = await call(t.app, a.admin.token, 'POST', '/api/v1/extension-schemas', {
      name: 'dwelling',
      applies_to: 'household',
      schema: { type: 'object', properties: { rooms: { type: 'integer' } } },
    });
    expect(dwelling.statusCode, dwelling.body).toBe(201);
  });

  const body = (extensions: Record<string, unknown>) => ({
    full_name: 'Extension Person',
    date_of_birth: '1985-05-05',
    gender: '1',
    extensions,
  });

  it.each([
    ['a value of the wrong type', { farmer: { acres: 'two' } }, 'extensions.farmer.acres'],
    ['a value below the minimum', { farmer: { acres: -1 } }, 'extensions.farmer.acres'],
    ['a missing required property', { farmer: { crop: 'maize' } }, 'extensions.farmer'],
    ['an unregistered extension', { fisher: { boats: 1 } }, 'extensions.fisher'],
    ['an extension registered for households only', { dwelling: { rooms: 2 } }, 'extensions.dwelling'],
  ])('refuses %s with 422 naming the field, and writes nothing', async (_what, extensions, field) => {
    const name = `Refused Extension ${field} ${Date.now()}`;
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/persons', {
      ...body(extensions),
      full_name: name,
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('ERR_VAL_RULE_VIOLATION');
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    const { rows } = await t.db.query('SELECT 1 FROM persons WHERE tenant_id = $1 AND full_name = $2', [
      a.tenantId,
      name,
    ]);
    expect(rows).toHaveLength(0);
  });

  it('accepts a valid extension and returns it; a PATCH is validated the same way', async () => {
    const res = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/persons',
      body({ farmer: { acres: 2.5, crop: 'maize' } }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().person_id;
    await grantConsent(t.app, a.admin.token, id, a.verticals.HEALTH);
    const url = `/api/v1/persons/${id}`;
    expect((await get(a, url)).json().extensions).toEqual({ farmer: { acres: 2.5, crop: 'maize' } });
    const bad = await call(t.app, a.admin.token, 'PATCH', url, { extensions: { farmer: { acres: 'many' } } });
    expect(bad.statusCode).toBe(422);
    const ok = await call(t.app, a.admin.token, 'PATCH', url, { extensions: { farmer: { acres: 3 } } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await get(a, url)).json().extensions).toEqual({ farmer: { acres: 3 } });
  });
});

describe('ROOT is audited at elevated severity (issue 5)', () => {
  it('ROOT writes and reads in a tenant are recorded as elevated; tenant staff as normal', async () => {
    const root = await rootToken(t.app);
    const asRoot = { 'x-tenant-id': a.tenantId };
    const created = await call(
      t.app,
      root,
      'POST',
      '/api/v1/persons',
      { full_name: 'Root Made', date_of_birth: '1970-07-07', gender: '9' },
      { ...asRoot, 'x-request-id': `root-create-${Date.now()}` },
    );
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().person_id;
    const readId = `root-read-${id}`;
    const read = await call(t.app, root, 'GET', `/api/v1/persons/${id}`, undefined, {
      ...asRoot,
      'x-request-id': readId,
    });
    expect(read.statusCode, read.body).toBe(200);
    const adminRead = `admin-read-${id}`;
    expect(
      (
        await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${id}`, undefined, {
          'x-request-id': adminRead,
        })
      ).statusCode,
    ).toBe(200);

    const write = await auditEvents(a, `action=person.create&resource_id=${id}`);
    expect(write).toHaveLength(1);
    expect(write[0]).toMatchObject({ actor_id: TEST_ROOT.id, severity: 'elevated' });
    const reads = await auditEvents(a, `resource_id=${encodeURIComponent(`/api/v1/persons/${id}`)}`);
    expect(reads.find((e) => e.correlation_id === readId)).toMatchObject({
      actor_id: TEST_ROOT.id,
      action: 'GET /api/v1/persons/:person_id',
      severity: 'elevated',
    });
    expect(reads.find((e) => e.correlation_id === adminRead)).toMatchObject({
      actor_id: a.admin.clientId,
      severity: 'normal',
    });
    const byRoot = await auditEvents(a, `actor=${TEST_ROOT.id}`);
    expect(byRoot.length).toBeGreaterThanOrEqual(2);
    expect(byRoot.every((e) => e.severity === 'elevated')).toBe(true);
  });
});
