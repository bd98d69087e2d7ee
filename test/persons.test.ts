import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson, grantConsent, nid, personBody } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let registrar: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  registrar = await a.client({ roles: ['registrar'], scopes: undefined });
});
afterAll(() => t?.close());

const adminGet = (url: string) => call(t.app, a.admin.token, 'GET', url);

describe('persons', () => {
  it('creates a provisional person with identities, contacts in E.164 and provenance', async () => {
    const res = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      {
        ...personBody({ full_name: 'Grace Achieng', given_name: 'Grace', family_name: 'Achieng' }),
        contacts: [
          { type: 'phone', value: '+254 712 000 111' },
          { type: 'email', value: 'Grace@Example.org' },
        ],
      },
      { 'x-source-system': 'kobo-survey' },
    );
    expect(res.statusCode, res.body).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({ verification_status: 'provisional', status: 'active', version_id: 1 });
    expect(p.system_guid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.location).toBe(`/api/v1/persons/${p.person_id}`);
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const full = (await adminGet(`/api/v1/persons/${p.person_id}`)).json();
    expect(full.contacts).toEqual([
      { type: 'phone', value: '+254712000111', primary: true },
      { type: 'email', value: 'Grace@Example.org', primary: false },
    ]);
    expect(full.identities[0].system).toBe('urn:hearth:vocab:id-type#national_id');
    expect(full.provenance).toMatchObject({
      created_by: registrar.clientId,
      source_system: 'kobo-survey',
      collection_method: 'api',
    });
  });

  it('stores an age estimate as an estimated birth date', async () => {
    const p = await createPerson(t.app, a.admin.token, { date_of_birth: undefined, age_estimate: 40 });
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const got = (await adminGet(`/api/v1/persons/${p.person_id}`)).json();
    expect(got.birth_date_estimated).toBe(true);
    expect(got.age_estimate).toBe(40);
    expect(got.date_of_birth.slice(0, 4)).toBe(String(new Date().getUTCFullYear() - 40));
  });

  it('refuses missing birth, unknown gender and unknown id type with the allowed values', async () => {
    const noBirth = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({ date_of_birth: undefined }),
    );
    expect(noBirth.statusCode).toBe(422);
    const gender = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({ gender: 'female' }),
    );
    expect(gender.statusCode).toBe(422);
    expect(gender.json().allowed_values).toEqual(['0', '1', '2', '9']);
    const idType = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({ identity_type: 'dna' }),
    );
    expect(idType.statusCode).toBe(422);
    expect(idType.json().errors[0].field).toBe('identity.identity_type');
    const future = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({ date_of_birth: '2999-01-01' }),
    );
    expect(future.statusCode).toBe(422);
  });

  it('a duplicate identity is a 409 and writes nothing; formatting does not hide it', async () => {
    const number = nid();
    await createPerson(t.app, registrar.token, { identity_number: `${number}-12` });
    const before = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM persons WHERE tenant_id = $1', [
      a.tenantId,
    ]);
    const dup = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({ identity_number: `${number.toLowerCase()} 12` }),
    );
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('ERR_CONFLICT');
    expect(dup.json().errors[0].field).toBe('identities');
    const after = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM persons WHERE tenant_id = $1', [
      a.tenantId,
    ]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    // The same number is free in another tenant.
    await createPerson(t.app, b.admin.token, { identity_number: `${number}-12` });
  });

  it('two concurrent creates with the same identity: exactly one succeeds', async () => {
    const body = personBody();
    const results = await Promise.all([
      call(t.app, registrar.token, 'POST', '/api/v1/persons', body),
      call(t.app, registrar.token, 'POST', '/api/v1/persons', body),
      call(t.app, registrar.token, 'POST', '/api/v1/persons', body),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
  });

  it('lists likely duplicates on create and at /duplicates', async () => {
    const first = await createPerson(t.app, registrar.token, {
      full_name: 'Joseph Kamau Mwangi',
      date_of_birth: '1975-01-01',
    });
    const res = await call(
      t.app,
      registrar.token,
      'POST',
      '/api/v1/persons',
      personBody({
        full_name: 'Josef Kamau Mwangi',
        date_of_birth: '1975-01-01',
      }),
    );
    expect(res.statusCode).toBe(201);
    expect(res.json().possible_duplicates.map((d: { person_id: string }) => d.person_id)).toContain(
      first.person_id,
    );
    const dups = await call(t.app, registrar.token, 'GET', `/api/v1/persons/${first.person_id}/duplicates`);
    expect(dups.json().data[0]).toMatchObject({
      person_id: res.json().person_id,
      reasons: ['similar_name_same_birth_date'],
    });
    expect(dups.json().data[0].score).toBeGreaterThan(0.6);
  });

  it('PATCH: updates with If-Match, keeps versions, refuses system_guid, stale versions and archived persons', async () => {
    const p = await createPerson(t.app, a.admin.token);
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const url = `/api/v1/persons/${p.person_id}`;
    const current = (await adminGet(url)).json();
    const ok = await call(
      t.app,
      a.admin.token,
      'PATCH',
      url,
      { given_name: 'Amina', birth_place: 'Kisumu' },
      {
        'if-match': `"${current.version_id}"`,
      },
    );
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().version_id).toBe(current.version_id + 1);
    expect(ok.headers.etag).toBe(`"${current.version_id + 1}"`);
    const stale = await call(
      t.app,
      a.admin.token,
      'PATCH',
      url,
      { given_name: 'X' },
      { 'if-match': `"${current.version_id}"` },
    );
    expect(stale.statusCode).toBe(412);
    const guid = await call(t.app, a.admin.token, 'PATCH', url, {
      system_guid: '00000000-0000-4000-8000-000000000000',
    });
    expect(guid.statusCode).toBe(422);
    expect(guid.json().detail).toContain('system_guid');
    const status = await call(t.app, a.admin.token, 'PATCH', url, { status: 'archived' });
    expect(status.statusCode).toBe(422);
    const versions = (await adminGet(`${url}/versions`)).json().data;
    const update = versions.find((v: { change: string }) => v.change === 'update');
    expect(update).toMatchObject({
      fields: ['given_name', 'birth_place'],
      new_values: { given_name: 'Amina', birth_place: 'Kisumu' },
    });
    expect(update.changed_by).toBe(a.admin.clientId);

    const archived = await call(t.app, a.admin.token, 'POST', `${url}/archive`, {
      reason_code: 'DUPLICATE_RECORD',
    });
    expect(archived.statusCode).toBe(200);
    expect(archived.json().status).toBe('archived');
    const locked = await call(t.app, a.admin.token, 'PATCH', url, { given_name: 'Y' });
    expect(locked.statusCode).toBe(409);
    expect(locked.json().current_status).toBe('archived');
    const again = await call(t.app, a.admin.token, 'POST', `${url}/archive`, {
      reason_code: 'OTHER',
      reason_text: 'again',
    });
    expect(again.statusCode).toBe(409);
    const restored = await call(t.app, a.admin.token, 'POST', `${url}/restore`, {
      reason_code: 'CREATED_IN_ERROR',
    });
    expect(restored.json().status).toBe('active');
  });

  it('archive needs a reason; OTHER needs a text; archiving frees the identity, restoring re-checks it', async () => {
    const number = nid();
    const p = await createPerson(t.app, a.admin.token, { identity_number: number });
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const url = `/api/v1/persons/${p.person_id}`;
    expect((await call(t.app, a.admin.token, 'POST', `${url}/archive`, {})).statusCode).toBe(422);
    const other = await call(t.app, a.admin.token, 'POST', `${url}/archive`, { reason_code: 'OTHER' });
    expect(other.statusCode).toBe(422);
    expect(other.json().errors[0].field).toBe('reason_text');
    expect(
      (await call(t.app, a.admin.token, 'POST', `${url}/archive`, { reason_code: 'DECEASED' })).statusCode,
    ).toBe(200);
    const search = await adminGet(`/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`);
    expect(search.json().data).toHaveLength(0);
    const archivedToo = await adminGet(
      `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}&status=all`,
    );
    expect(archivedToo.json().data).toHaveLength(1);
    await createPerson(t.app, a.admin.token, { identity_number: number });
    const restore = await call(t.app, a.admin.token, 'POST', `${url}/restore`, {
      reason_code: 'CREATED_IN_ERROR',
    });
    expect(restore.statusCode).toBe(409);
  });

  it('verify sets verification_status with who and when', async () => {
    const p = await createPerson(t.app, a.admin.token);
    const res = await call(t.app, a.admin.token, 'POST', `/api/v1/persons/${p.person_id}/verify`, {
      verification_status: 'verified',
      verified_by: 'officer-12',
      verified_at: '2026-01-02T03:04:05.000Z',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().verification_status).toBe('verified');
  });

  it('another tenant’s person answers 404 like a missing one, on every person route', async () => {
    const p = await createPerson(t.app, a.admin.token);
    const missing = '00000000-0000-4000-8000-0000000000aa';
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['PATCH', '', { given_name: 'x' }],
      ['POST', '/verify', {}],
      ['POST', '/archive', { reason_code: 'DATA_ERROR' }],
      ['GET', '/versions', undefined],
      ['GET', '/duplicates', undefined],
      ['GET', '/consents', undefined],
    ] as const) {
      const other = await call(t.app, b.admin.token, method, `/api/v1/persons/${p.person_id}${suffix}`, body);
      const none = await call(t.app, b.admin.token, method, `/api/v1/persons/${missing}${suffix}`, body);
      expect(other.statusCode, `${method} ${suffix}`).toBe(404);
      expect(other.json().detail).toBe(none.json().detail);
    }
  });
});

describe('households, memberships and relationships', () => {
  it('creates a household whose leader becomes head; members are added and ended with history', async () => {
    const leader = await createPerson(t.app, a.admin.token, { full_name: 'Peter Otieno' });
    const child = await createPerson(t.app, a.admin.token, {
      full_name: 'Mary Otieno',
      date_of_birth: '2012-03-03',
    });
    const hh = await call(t.app, registrar.token, 'POST', '/api/v1/households', {
      household_name: 'Otieno',
      leader_id: leader.person_id,
      geo_lat: -0.1,
      geo_lon: 34.75,
      geo_accuracy: 8,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const id = hh.json().household_id;
    expect(hh.json().member_count).toBe(1);
    const add = await call(t.app, registrar.token, 'POST', `/api/v1/households/${id}/members`, {
      person_id: child.person_id,
      relationship_type: 'child',
      effective_from: '2020-01-01',
    });
    expect(add.statusCode, add.body).toBe(201);
    const twice = await call(t.app, registrar.token, 'POST', `/api/v1/households/${id}/members`, {
      person_id: child.person_id,
      relationship_type: 'child',
      effective_from: '2020-01-01',
    });
    expect(twice.statusCode).toBe(409);
    const badRole = await call(t.app, registrar.token, 'POST', `/api/v1/households/${id}/members`, {
      person_id: leader.person_id,
      relationship_type: 'boss',
      effective_from: '2020-01-01',
    });
    expect(badRole.statusCode).toBe(422);
    const end = await call(
      t.app,
      registrar.token,
      'POST',
      `/api/v1/households/${id}/members/${child.person_id}/end`,
      {
        effective_until: '2025-06-30',
        reason_code: 'MOVED',
      },
    );
    expect(end.statusCode, end.body).toBe(200);
    expect(end.json().effective_until).toBe('2025-06-30');
    const members = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/households/${id}/members?include_ended=true`,
    );
    expect(members.json().data).toHaveLength(2);
    const open = await call(t.app, a.admin.token, 'GET', `/api/v1/households/${id}/members`);
    expect(open.json().data.map((m: { person_id: string }) => m.person_id)).toEqual([leader.person_id]);

    const archived = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${id}/archive`, {
      reason_code: 'MOVED',
    });
    expect(archived.json().status).toBe('archived');
    const stillThere = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/households/${id}/members?include_ended=true`,
    );
    expect(stillThere.json().data).toHaveLength(2);
    expect(
      (await call(t.app, a.admin.token, 'PATCH', `/api/v1/households/${id}`, { household_name: 'x' }))
        .statusCode,
    ).toBe(409);
    const restored = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${id}/restore`, {
      reason_code: 'CREATED_IN_ERROR',
    });
    expect(restored.json().status).toBe('provisional');
  });

  it('refuses a leader from another tenant, unknown group kinds and lone coordinates', async () => {
    const foreign = await createPerson(t.app, b.admin.token);
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'x',
      leader_id: foreign.person_id,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].field).toBe('leader_id');
    const leader = await createPerson(t.app, a.admin.token);
    const kind = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'x',
      leader_id: leader.person_id,
      group_kind: 'tribe',
    });
    expect(kind.statusCode).toBe(422);
    const lat = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'x',
      leader_id: leader.person_id,
      geo_lat: 1,
    });
    expect(lat.statusCode).toBe(422);
  });

  it('a geolocation change is versioned and audited as such', async () => {
    const leader = await createPerson(t.app, a.admin.token);
    const hh = (
      await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
        household_name: 'Geo',
        leader_id: leader.person_id,
      })
    ).json();
    const res = await call(
      t.app,
      a.admin.token,
      'PATCH',
      `/api/v1/households/${hh.household_id}`,
      { geo_lat: 1.5, geo_lon: 36.1 },
      {
        'if-match': '"1"',
      },
    );
    expect(res.statusCode, res.body).toBe(200);
    const stale = await call(
      t.app,
      a.admin.token,
      'PATCH',
      `/api/v1/households/${hh.household_id}`,
      { household_name: 'G' },
      {
        'if-match': '"1"',
      },
    );
    expect(stale.statusCode).toBe(412);
    const audit = await adminGet(
      `/api/v1/audit-events?action=household.geolocation_change&resource_id=${hh.household_id}`,
    );
    expect(audit.json().data).toHaveLength(1);
    const versions = (await adminGet(`/api/v1/households/${hh.household_id}/versions`)).json().data;
    expect(versions[1].fields).toEqual(expect.arrayContaining(['geo_lat', 'geo_lon']));
  });

  it('relationships: base types only, time-bound, patched and ended with reasons', async () => {
    const mother = await createPerson(t.app, a.admin.token, { full_name: 'Ruth Njeri' });
    const son = await createPerson(t.app, a.admin.token, {
      full_name: 'Daniel Njeri',
      date_of_birth: '2010-01-01',
    });
    const sibling = await call(t.app, registrar.token, 'POST', '/api/v1/relationships', {
      person_id: mother.person_id,
      related_person_id: son.person_id,
      relationship_type: 'sibling',
      effective_from: '2010-01-01',
    });
    expect(sibling.statusCode).toBe(422);
    const self = await call(t.app, registrar.token, 'POST', '/api/v1/relationships', {
      person_id: mother.person_id,
      related_person_id: mother.person_id,
      relationship_type: 'mother',
      effective_from: '2010-01-01',
    });
    expect(self.statusCode).toBe(422);
    const rel = await call(t.app, registrar.token, 'POST', '/api/v1/relationships', {
      person_id: mother.person_id,
      related_person_id: son.person_id,
      relationship_type: 'mother',
      effective_from: '2010-01-01',
    });
    expect(rel.statusCode, rel.body).toBe(201);
    const id = rel.json().relationship_id;
    const patched = await call(t.app, registrar.token, 'PATCH', `/api/v1/relationships/${id}`, {
      verification_status: 'verified',
      reason_code: 'VERIFIED',
    });
    expect(patched.json()).toMatchObject({ verification_status: 'verified', version_id: 2 });
    const ended = await call(t.app, registrar.token, 'POST', `/api/v1/relationships/${id}/end`, {
      effective_until: '2024-01-01',
      reason_code: 'DATA_ERROR',
    });
    expect(ended.json()).toMatchObject({ status: 'ended', effective_until: '2024-01-01' });
    expect(
      (
        await call(t.app, registrar.token, 'POST', `/api/v1/relationships/${id}/end`, {
          effective_until: '2024-01-01',
          reason_code: 'DATA_ERROR',
        })
      ).statusCode,
    ).toBe(409);
    const list = await adminGet(`/api/v1/persons/${son.person_id}/relationships`);
    expect(list.json().data.map((r: { relationship_id: string }) => r.relationship_id)).toContain(id);
  });
});

describe('vocabularies and geo areas', () => {
  it('lists vocabularies with namespaces; tenant admins extend extendable ones only', async () => {
    const list = await call(t.app, registrar.token, 'GET', '/api/v1/vocabularies');
    const ids = list.json().data.find((v: { code: string }) => v.code === 'id-type');
    expect(ids.namespace).toBe('urn:hearth:vocab:id-type');
    const add = await call(t.app, a.admin.token, 'POST', '/api/v1/vocabularies/id-type/codes', {
      code: 'farmer_card',
      display: 'Farmer card',
    });
    expect(add.statusCode).toBe(201);
    const fixed = await call(t.app, a.admin.token, 'POST', '/api/v1/vocabularies/relationship-type/codes', {
      code: 'cousin',
      display: 'Cousin',
    });
    expect(fixed.statusCode).toBe(409);
    expect(
      (
        await call(t.app, registrar.token, 'POST', '/api/v1/vocabularies/id-type/codes', {
          code: 'x1',
          display: 'x',
        })
      ).statusCode,
    ).toBe(403);
    await createPerson(t.app, registrar.token, { identity_type: 'farmer_card' });
    const codes = await call(
      t.app,
      registrar.token,
      'GET',
      '/api/v1/vocabularies/urn:hearth:vocab:gender/codes',
    );
    expect(codes.json().data.map((c: { code: string }) => c.code)).toEqual(['0', '1', '2', '9']);
  });
});

describe('search', () => {
  let area: string;
  let sub: string;
  let near: { person_id: string };
  let far: { person_id: string };
  let centroidOnly: { person_id: string };
  beforeAll(async () => {
    const tok = a.admin.token;
    const ra = await call(t.app, tok, 'POST', '/api/v1/geo-areas', {
      name: 'Kisumu',
      level: 1,
      centroid_lat: -0.09,
      centroid_lon: 34.77,
    });
    area = ra.json().geo_id;
    sub = (
      await call(t.app, tok, 'POST', '/api/v1/geo-areas', {
        name: 'Nyalenda',
        level: 2,
        parent_geo_id: area,
        centroid_lat: -0.11,
        centroid_lon: 34.76,
      })
    ).json().geo_id;
    near = await createPerson(t.app, tok, { full_name: 'Wanjiku Near', geo_id: sub });
    far = await createPerson(t.app, tok, { full_name: 'Wanjiku Far' });
    centroidOnly = await createPerson(t.app, tok, { full_name: 'Wanjiku Centroid', geo_id: sub });
    await call(t.app, tok, 'POST', '/api/v1/households', {
      household_name: 'Near',
      leader_id: near.person_id,
      geo_lat: -0.1,
      geo_lon: 34.75,
    });
    await call(t.app, tok, 'POST', '/api/v1/households', {
      household_name: 'Far',
      leader_id: far.person_id,
      geo_lat: 1.0,
      geo_lon: 36.0,
    });
    for (const p of [near, far, centroidOnly])
      await grantConsent(t.app, tok, p.person_id, a.verticals.HEALTH);
  });

  it('radius search orders by distance, falls back to the area centroid with a warning', async () => {
    const res = await adminGet('/api/v1/persons/search?lat=-0.1&lon=34.75&radius_km=10');
    expect(res.statusCode, res.body).toBe(200);
    const ids = res.json().data.map((h: { person_id: string }) => h.person_id);
    expect(ids).toContain(near.person_id);
    expect(ids).toContain(centroidOnly.person_id);
    expect(ids).not.toContain(far.person_id);
    const hit = res.json().data.find((h: { person_id: string }) => h.person_id === centroidOnly.person_id);
    expect(hit.position_source).toBe('geo_area_centroid');
    expect(res.json().data[0].distance_km).toBeLessThanOrEqual(
      res.json().data[res.json().data.length - 1].distance_km,
    );
    expect(res.json().warnings.map((w: { code: string }) => w.code)).toContain('APPROXIMATE_POSITION');
    const hh = await adminGet('/api/v1/households/search?lat=-0.1&lon=34.75&radius_km=10');
    expect(hh.json().data.find((h: { household_name: string }) => h.household_name === 'Near')).toMatchObject(
      {
        distance_km: 0,
      },
    );
  });

  it('the index-served search functions see only the transaction tenant, and nothing outside one', async () => {
    const within = `SELECT count(*)::int AS n FROM households_within(-0.1, 34.75, 10000)`;
    const inA = await t.db.transaction((tx) => tx.query<{ n: number }>(within), { tenantId: a.tenantId });
    expect(inA.rows[0].n).toBeGreaterThan(0);
    const inB = await t.db.transaction((tx) => tx.query<{ n: number }>(within), { tenantId: b.tenantId });
    expect(inB.rows[0].n).toBe(0);
    const outside = await t.db.query<{ n: number }>(within);
    expect(outside.rows[0].n).toBe(0);
    const named = `SELECT count(*)::int AS n FROM persons_named_like('wanjiku near')`;
    if (t.db.kind === 'postgres') {
      const byName = await t.db.transaction((tx) => tx.query<{ n: number }>(named), { tenantId: b.tenantId });
      expect(byName.rows[0].n).toBe(0);
    }
  });

  it('refuses radius without lat, radius ≤ 0 or absurd, and needs sensitive:read', async () => {
    for (const q of [
      'lon=34&radius_km=5',
      'lat=1&lon=34&radius_km=0',
      'lat=1&lon=34&radius_km=-3',
      'lat=1&lon=34&radius_km=99999',
      'lat=91&lon=1&radius_km=1',
    ]) {
      const res = await adminGet(`/api/v1/persons/search?${q}`);
      expect(res.statusCode, q).toBe(400);
    }
    // The plain list takes no search parameters: refused by name, never passed on half-checked.
    for (const q of [
      'lat=abc&lon=1&radius_km=1',
      'lat=1&lon=1&radius_km=1',
      'criteria_id=name&criteria_value=x',
    ]) {
      const res = await adminGet(`/api/v1/persons?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().code, q).toBe('ERR_VAL_UNKNOWN_FIELD');
    }
    const res = await call(
      t.app,
      registrar.token,
      'GET',
      '/api/v1/persons/search?lat=-0.1&lon=34.75&radius_km=10',
    );
    // Registrars see positions while registering (decision 0012); an auditor never does.
    expect(res.statusCode).toBe(200);
    const auditor = await a.client({ roles: ['auditor'] });
    const refused = await call(
      t.app,
      auditor.token,
      'GET',
      '/api/v1/persons/search?lat=-0.1&lon=34.75&radius_km=10',
    );
    expect(refused.statusCode).toBe(403);
  });

  it('geo_id includes descendant areas', async () => {
    const res = await adminGet(`/api/v1/persons/search?geo_id=${area}`);
    const ids = res.json().data.map((h: { person_id: string }) => h.person_id);
    expect(ids).toEqual(expect.arrayContaining([near.person_id, centroidOnly.person_id]));
    expect(ids).not.toContain(far.person_id);
    expect(res.json().data[0].matched_fields).toContain('geo_id');
  });

  it('fuzzy name search ranks close names first; SQL and LIKE metacharacters are literal', async () => {
    const res = await adminGet('/api/v1/persons/search?criteria_id=name&criteria_value=wanjiku%20nera');
    expect(res.statusCode).toBe(200);
    expect(res.json().data[0].full_name).toBe('Wanjiku Near');
    for (const v of ['%', '_', '%25', "' OR 1=1 --", 'Q_%', 'a\\']) {
      const r = await adminGet(
        `/api/v1/persons/search?criteria_id=name&criteria_value=${encodeURIComponent(v)}`,
      );
      expect(r.statusCode, v).toBe(200);
      expect(r.json().data.length, v).toBe(0);
    }
  });

  it('identity, phone and birth date criteria; paging with an opaque cursor', async () => {
    const number = nid();
    const p = await createPerson(t.app, a.admin.token, {
      identity_number: number,
      contacts: [{ type: 'phone', value: '+254733999888' }],
    });
    // An exact identifier finds the person being registered (decision 0012).
    const early = await adminGet(
      `/api/v1/persons/search?criteria_id=identity&criteria_value=national_id|${number}`,
    );
    expect(early.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([p.person_id]);
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const byId = await adminGet(
      `/api/v1/persons/search?criteria_id=identity&criteria_value=national_id|${number}`,
    );
    expect(byId.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([p.person_id]);
    expect(byId.json().data[0].matched_fields).toEqual(['identities.identity_number']);
    const byPhone = await adminGet(
      '/api/v1/persons/search?criteria_id=phone&criteria_value=%2B254%20733%20999%20888',
    );
    expect(byPhone.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([p.person_id]);
    const noSensitive = await call(
      t.app,
      registrar.token,
      'GET',
      `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`,
    );
    // No sensitive:read needed for an exact identifier.
    expect(noSensitive.statusCode).toBe(200);
    expect(noSensitive.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([p.person_id]);
    const badDate = await adminGet('/api/v1/persons/search?criteria_id=birth_date&criteria_value=yesterday');
    expect(badDate.statusCode).toBe(400);
    const page1 = await adminGet('/api/v1/persons?limit=2');
    expect(page1.json().data).toHaveLength(2);
    const page2 = await adminGet(`/api/v1/persons?limit=2&cursor=${page1.json().next_cursor}`);
    const seen = new Set(
      [...page1.json().data, ...page2.json().data].map((h: { person_id: string }) => h.person_id),
    );
    expect(seen.size).toBe(4);
    expect(page1.json().next_cursor).not.toContain(page1.json().data[1].person_id);
  });
});
