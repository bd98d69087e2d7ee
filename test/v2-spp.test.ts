import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let registrar: IssuedTestClient;
let reader: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  [registrar, reader] = await Promise.all([
    a.client({ roles: ['registrar'] }),
    a.client({ roles: ['auditor'] }),
  ]);
});
afterAll(() => t?.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
type Json = Record<string, any>;
const NATIONAL_ID = 'urn:hearth:vocab:id-type#national_id';
const PASSPORT = 'urn:hearth:vocab:id-type#passport';
const ISO = 'urn:iso:std:iso:5218';
const enc = (system: string, value: string) => encodeURIComponent(`${system}|${value}`);

const v2 = (
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => call(t.app, token, method as 'GET', `/api/v2/spp${path}`, body, headers);

function individual(overrides: Record<string, unknown> = {}): Json {
  return {
    type: 'Individual',
    identifier: [{ system: NATIONAL_ID, value: nid() }],
    name: { given: ['Amina'], family: 'Wanjiru' },
    birthDate: '1990-04-12',
    gender: { coding: [{ system: ISO, code: '2' }] },
    ...overrides,
  };
}

async function createIndividual(token = a.admin.token, overrides: Record<string, unknown> = {}) {
  const res = await v2(token, 'POST', '/Individual', individual(overrides));
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return {
    res,
    body,
    location: res.headers.location as string,
    hearthId: body.identifier[0].value as string,
  };
}

/** A vocabulary code for household identifiers (tenants add their own id types). */
async function householdIdType(tenant: TestTenant): Promise<string> {
  const res = await call(t.app, tenant.admin.token, 'POST', '/api/v1/vocabularies/id-type/codes', {
    code: 'household_id',
    display: 'Household ID',
  });
  expect([201, 409]).toContain(res.statusCode);
  return 'urn:hearth:vocab:id-type#household_id';
}

describe('token and metadata', () => {
  it('issues tokens at /api/v2/spp/oauth/token from JSON, form or Basic credentials, with V2 scope names', async () => {
    const creds = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'spp',
      roles: ['registrar'],
    });
    const { client_id, client_secret } = creds.json();
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id,
        client_secret,
        scope: 'individual:read group:create',
      },
    });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toMatchObject({
      token_type: 'Bearer',
      hearth_scope: 'persons:read households:write',
    });
    expect(json.json().scope.split(' ')).toEqual(
      expect.arrayContaining(['individual:read', 'individual:search', 'group:create', 'group:update']),
    );
    expect(json.headers['x-api-version']).toBe('2.0.0');
    const form = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${client_id}&client_secret=${encodeURIComponent(client_secret)}`,
    });
    expect(form.statusCode).toBe(200);
    // The seed's own name for the endpoint, POST /token, is an alias.
    const alias = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/token',
      payload: { grant_type: 'client_credentials', client_id, client_secret },
    });
    expect(alias.statusCode, alias.body).toBe(200);
    expect(alias.json().token_type).toBe('Bearer');
    const basic = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      headers: { authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}` },
      payload: { grant_type: 'client_credentials', scope: 'individual:all' },
    });
    expect(basic.statusCode, basic.body).toBe(200);
    expect(basic.json().hearth_scope).toBe('persons:read persons:write');
    // The token works on the V2 face and on the native API alike.
    const token = json.json().access_token;
    expect((await v2(token, 'GET', '/Individual?_count=1')).statusCode).toBe(200);
    expect((await v2(token, 'POST', '/Individual', individual())).statusCode).toBe(403);

    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      payload: { grant_type: 'client_credentials', client_id, client_secret: 'wrong-secret' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error).toBe('invalid_client');
    const unknownScope = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      payload: { grant_type: 'client_credentials', client_id, client_secret, scope: 'individual:delete' },
    });
    expect(unknownScope.statusCode).toBe(400);
    expect(unknownScope.json().error).toBe('invalid_scope');
    const notGranted = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id,
        client_secret,
        scope: 'individual:read sensitive:read',
      },
    });
    expect(notGranted.statusCode).toBe(400);
  });

  it('publishes its metadata without authentication', async () => {
    const res = await v2(null, 'GET', '/metadata');
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m.authentication).toMatchObject({ type: 'oauth2', token_endpoint: '/api/v2/spp/oauth/token' });
    expect(m.resources.map((r: Json) => r.type)).toEqual(
      expect.arrayContaining(['Individual', 'Group', 'Program', 'ProgramMembership', 'Vocabulary']),
    );
    expect(m.resources.find((r: Json) => r.type === 'Individual').searchParams).toContain('birthdate');
  });

  it('individual:read and individual:search are one grant, as in OpenSPP (search is gated on :read there)', async () => {
    const { location } = await consentedIndividual();
    const creds = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'spp-reader',
      roles: ['registrar'],
    });
    const { client_id, client_secret } = creds.json();
    const tokenOf = async (scope: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v2/spp/oauth/token',
        payload: { grant_type: 'client_credentials', client_id, client_secret, scope },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as Json;
    };
    const read = await tokenOf('individual:read');
    const search = await tokenOf('individual:search');
    // Both names stand for persons:read, and the answer says the token grants both.
    for (const issued of [read, search]) {
      expect(issued.hearth_scope).toBe('persons:read');
      expect(issued.scope.split(' ').sort()).toEqual(['individual:read', 'individual:search']);
    }
    for (const { access_token } of [read, search]) {
      const byId = await t.app.inject({
        url: location,
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(byId.statusCode, byId.body).toBe(200);
      expect((await v2(access_token, 'GET', '/Individual?_count=1')).statusCode).toBe(200);
      // Nothing beyond reading Individuals: no writes, no Groups.
      const create = await v2(access_token, 'POST', '/Individual', individual());
      expect(create.statusCode).toBe(403);
      expect(create.json().required_scope).toBe('individual:create');
      const patch = await v2(access_token, 'PATCH', location.replace('/api/v2/spp', ''), {});
      expect(patch.statusCode).toBe(403);
      expect((await v2(access_token, 'GET', '/Group?_count=1')).statusCode).toBe(403);
    }
    const meta = (await v2(null, 'GET', '/metadata')).json();
    expect(meta.resources.find((r: Json) => r.type === 'Individual').scopes).toMatchObject({
      read: 'individual:read',
      search: 'individual:read',
    });
  });

  it('lists extensions in /metadata: the system ones to anyone, a tenant’s own only to its tokens', async () => {
    const register = async (tenant: TestTenant, name: string, applies_to: string, field: string) => {
      const res = await call(t.app, tenant.admin.token, 'POST', '/api/v1/extension-schemas', {
        name,
        applies_to,
        schema: { type: 'object', properties: { [field]: { type: 'number' } } },
      });
      expect(res.statusCode, res.body).toBe(201);
    };
    await register(a, 'farmer', 'person', 'farm_size');
    await register(b, 'fisher', 'household', 'boat_count');
    const names = (m: Json) => m.extensions.map((e: Json) => e.name).sort();

    const anonymous = await v2(null, 'GET', '/metadata');
    expect(anonymous.statusCode).toBe(200);
    expect(names(anonymous.json())).toEqual(['g2p']);
    expect(anonymous.json().extensions[0]).toEqual({
      url: 'urn:hearth:extension:g2p',
      name: 'g2p',
      module: 'hearth',
      appliesTo: ['Individual', 'Group'],
      fields: ['registration_date', 'is_partial_group'],
    });
    expect(anonymous.headers['cache-control']).toBe('public, max-age=300');
    expect(anonymous.headers.vary).toContain('Authorization');

    const ofA = await v2(registrar.token, 'GET', '/metadata');
    expect(names(ofA.json())).toEqual(['farmer', 'g2p']);
    expect(ofA.json().extensions.find((e: Json) => e.name === 'farmer')).toEqual({
      url: 'urn:hearth:extension:farmer',
      name: 'farmer',
      module: 'tenant',
      appliesTo: ['Individual'],
      fields: ['farm_size'],
    });
    expect(ofA.headers['cache-control']).toBe('private, max-age=300');
    const ofB = await v2(b.admin.token, 'GET', '/metadata');
    expect(names(ofB.json())).toEqual(['fisher', 'g2p']);
    expect(ofB.json().extensions.find((e: Json) => e.name === 'fisher').appliesTo).toEqual(['Group']);
    // Another tenant's id in X-Tenant-Id changes nothing: only the token's own tenant is listed.
    const crossed = await v2(registrar.token, 'GET', '/metadata', undefined, { 'x-tenant-id': b.tenantId });
    expect(names(crossed.json())).toEqual(['farmer', 'g2p']);
    // A token that does not verify is answered as no token; one without a registry scope likewise.
    const forged = await v2(`${registrar.token.slice(0, -4)}AAAA`, 'GET', '/metadata');
    expect(forged.statusCode).toBe(200);
    expect(names(forged.json())).toEqual(['g2p']);
    const consentsOnly = await a.client({ roles: ['registrar'], scopes: ['consents:read'] });
    expect(names((await v2(consentsOnly.token, 'GET', '/metadata')).json())).toEqual(['g2p']);
  });

  it('documents merge-patch and form bodies in GET /openapi.json, and still validates them', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    const media = (path: string, method: string) =>
      Object.keys(doc.paths[`/api/v2/spp${path}`][method].requestBody.content).sort();
    for (const path of ['/Individual/{identifier}', '/Group/{identifier}']) {
      expect(media(path, 'patch'), path).toEqual(['application/json', 'application/merge-patch+json']);
      expect(media(path, 'put'), path).toEqual(['application/json']);
    }
    for (const path of ['/oauth/token', '/token']) {
      expect(media(path, 'post'), path).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    }
    // One body schema validates every media type: a merge patch with an unknown member is a 422.
    const { location } = await createIndividual();
    const patch = await t.app.inject({
      method: 'PATCH',
      url: location,
      headers: {
        authorization: `Bearer ${a.admin.token}`,
        'content-type': 'application/merge-patch+json',
      },
      payload: JSON.stringify({ nope: 1 }),
    });
    expect(patch.statusCode, patch.body).toBe(422);
    expect(patch.json().errors[0]).toMatchObject({ field: 'nope', code: 'ERR_VAL_UNKNOWN_FIELD' });
    const form = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&client_id=x&client_id=y',
    });
    // A repeated form field parses to an array, which the body schema refuses.
    expect(form.statusCode, form.body).toBe(422);
    expect(form.json().errors[0].field).toBe('client_id');
  });

  it('refuses every resource route without a token (401) and with a missing scope (403)', async () => {
    for (const [method, path] of [
      ['GET', '/Individual'],
      ['GET', `/Individual/${enc(NATIONAL_ID, '1')}`],
      ['POST', '/Individual'],
      ['GET', '/Group'],
      ['POST', '/Group'],
      ['GET', '/Program'],
      ['GET', '/ProgramMembership'],
      ['POST', '/ProgramMembership'],
      ['GET', '/Vocabulary'],
      ['POST', '/$batch'],
    ]) {
      const res = await v2(null, method, path, method === 'POST' ? {} : undefined);
      expect(res.statusCode, `${method} ${path}`).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail).toBeTruthy();
    }
    const denied = await v2(reader.token, 'POST', '/Individual', individual());
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'ERR_SEC_FORBIDDEN', required_scope: 'individual:create' });
    expect((await v2(reader.token, 'POST', '/Group', {})).statusCode).toBe(403);
    expect((await v2(reader.token, 'POST', '/ProgramMembership', {})).statusCode).toBe(403);
  });
});

/** An Individual created by the admin, verified and with an active consent: fully readable by staff. */
async function consentedIndividual(overrides: Record<string, unknown> = {}) {
  const created = await createIndividual(a.admin.token, overrides);
  await grantConsent(t.app, a.admin.token, created.hearthId, a.verticals.HEALTH);
  return created;
}

describe('Individual', () => {
  it('creates an Individual: 201 with Location, ETag, camelCase resource and no database id', async () => {
    const national = nid();
    const { res, body, location, hearthId } = await createIndividual(a.admin.token, {
      identifier: [
        { system: NATIONAL_ID, value: national },
        { system: PASSPORT, value: `P${national}`, period: { end: '2030-01-01' } },
      ],
      name: { given: ['Grace'], family: 'Achieng', text: 'Grace Achieng' },
      telecom: [{ system: 'phone', value: '+254 712 000 111', use: 'mobile' }],
      address: [{ city: 'Kisumu', state: 'Nyanza', country: 'KE', line: ['Plot 4'] }],
    });
    expect(res.headers.etag).toBe('"1"');
    expect(location).toBe(`/api/v2/spp/Individual/urn:hearth:id:person%7C${hearthId}`);
    expect(body).toMatchObject({ type: 'Individual', active: true, meta: { versionId: '1' } });
    expect(body.identifier[0]).toEqual({ system: 'urn:hearth:id:person', value: hearthId });
    expect(Object.keys(body)).not.toContain('id');
    await grantConsent(t.app, a.admin.token, hearthId, a.verticals.HEALTH);
    const read = await v2(a.admin.token, 'GET', location.replace('/api/v2/spp', ''));
    expect(read.statusCode, read.body).toBe(200);
    expect(read.headers.etag).toBe(`"${read.json().meta.versionId}"`);
    expect(read.json()).toMatchObject({
      identifier: [
        { system: 'urn:hearth:id:person', value: hearthId },
        { system: NATIONAL_ID, value: national },
        { system: PASSPORT, value: `P${national}`, period: { end: '2030-01-01' } },
      ],
      name: { text: 'Grace Achieng', given: ['Grace'], family: 'Achieng' },
      birthDate: '1990-04-12',
      birthDateEstimated: false,
      gender: { coding: [{ system: ISO, code: '2', display: 'Female' }] },
      telecom: [{ system: 'phone', value: '+254712000111', rank: 1 }],
      address: [{ city: 'Kisumu', state: 'Nyanza', country: 'KE', line: ['Plot 4'] }],
    });
    // The same record through the native API.
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${hearthId}`)).json();
    expect(native).toMatchObject({ full_name: 'Grace Achieng', given_name: 'Grace', gender: '2' });
    expect(native.identities.map((i: Json) => i.system)).toEqual([NATIONAL_ID, PASSPORT]);
  });

  it('addresses an Individual by {system}|{value}: URL-encoded, # as %23; malformed → 400, unknown → 404', async () => {
    const national = nid();
    const { hearthId } = await consentedIndividual({
      identifier: [{ system: NATIONAL_ID, value: national }],
    });
    const byId = await v2(a.admin.token, 'GET', `/Individual/${enc(NATIONAL_ID, national)}`);
    expect(byId.statusCode, byId.body).toBe(200);
    expect(byId.json().identifier[0].value).toBe(hearthId);
    const raw = await v2(
      a.admin.token,
      'GET',
      `/Individual/urn:hearth:vocab:id-type%23national_id|${national}`,
    );
    expect(raw.statusCode).toBe(200);
    for (const bad of [
      'no-separator',
      encodeURIComponent('|only-value'),
      encodeURIComponent('urn:hearth:id:person|not-a-uuid'),
    ]) {
      const res = await v2(a.admin.token, 'GET', `/Individual/${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code).toBe('ERR_VAL_INVALID_FORMAT');
    }
    expect(
      (await v2(a.admin.token, 'GET', `/Individual/${enc('urn:other:system', national)}`)).statusCode,
    ).toBe(404);
    expect((await v2(a.admin.token, 'GET', `/Individual/${enc(NATIONAL_ID, 'NOPE-1')}`)).statusCode).toBe(
      404,
    );
    // Another tenant's Individual is as missing as one that does not exist.
    expect(
      (await v2(b.admin.token, 'GET', `/Individual/${enc('urn:hearth:id:person', hearthId)}`)).statusCode,
    ).toBe(404);
    // Addressing by an identity number the caller holds is open to every reader (decision 0012).
    const registrarRead = await v2(registrar.token, 'GET', `/Individual/${enc(NATIONAL_ID, national)}`);
    expect(registrarRead.statusCode, registrarRead.body).toBe(200);
    expect(
      (await v2(registrar.token, 'GET', `/Individual/${enc('urn:hearth:id:person', hearthId)}`)).statusCode,
    ).toBe(200);
  });

  it('refuses bad Individuals with 422 (and a clash with 409), writing nothing', async () => {
    const taken = nid();
    await createIndividual(a.admin.token, { identifier: [{ system: NATIONAL_ID, value: taken }] });
    const cases: [Json, number, string][] = [
      [
        individual({ identifier: [{ system: 'urn:gov:xx:national-id', value: nid() }] }),
        422,
        'identifier[0].system',
      ],
      [
        individual({ identifier: [{ system: 'urn:hearth:vocab:id-type#unknown_type', value: nid() }] }),
        422,
        'identities[0].identity_type',
      ],
      [individual({ gender: { coding: [{ system: ISO, code: '7' }] } }), 422, 'gender'],
      [individual({ gender: { coding: [{ system: 'urn:other', code: 'F' }] } }), 422, 'gender'],
      [individual({ birthDate: undefined }), 422, 'date_of_birth'],
      [individual({ birthDate: '2999-01-01' }), 422, 'date_of_birth'],
      [individual({ unknownMember: 1 }), 422, 'unknownMember'],
      [individual({ identifier: [] }), 422, 'identifier'],
      [
        individual({
          identifier: [{ system: 'urn:hearth:id:person', value: '0190aaaa-0000-7000-8000-000000000000' }],
        }),
        422,
        'identifier[0].system',
      ],
      [individual({ telecom: [{ system: 'fax', value: '123' }] }), 422, 'telecom[0].system'],
      [individual({ name: { text: 'A', prefix: 'Dr' } }), 422, 'name.prefix'],
      [individual({ active: false }), 422, 'active'],
      [individual({ identifier: [{ system: NATIONAL_ID, value: taken }] }), 409, 'identities'],
    ];
    for (const [body, status, field] of cases) {
      const res = await v2(a.admin.token, 'POST', '/Individual', body);
      expect(res.statusCode, `${field}: ${res.body}`).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail).toBeTruthy();
      expect(res.json().errors?.map((e: Json) => e.field) ?? []).toContain(field);
    }
    const found = await v2(a.admin.token, 'GET', `/Individual?identifier=${taken}`);
    expect(found.json().meta.total).toBeLessThanOrEqual(1);
  });

  it('PUT replaces with If-Match (a stale version is a 409); PATCH merges; versionId changes on every write', async () => {
    const national = nid();
    const { hearthId } = await consentedIndividual({
      identifier: [{ system: NATIONAL_ID, value: national }],
    });
    const path = `/Individual/${enc(NATIONAL_ID, national)}`;
    const current = (await v2(a.admin.token, 'GET', path)).json();
    const version = current.meta.versionId;
    const replaced = {
      ...current,
      name: { given: ['Amina', 'Joy'], family: 'Otieno' },
      birthDate: '1991-02-03',
    };
    const stale = await v2(a.admin.token, 'PUT', path, replaced, { 'if-match': '"999"' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('ERR_PRECONDITION_FAILED');
    const put = await v2(a.admin.token, 'PUT', path, replaced, { 'if-match': `"${version}"` });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().meta.versionId).not.toBe(version);
    expect(put.headers.etag).toBe(`"${put.json().meta.versionId}"`);
    expect(put.json()).toMatchObject({
      name: { text: 'Amina Joy Otieno', family: 'Otieno' },
      birthDate: '1991-02-03',
    });
    // Nothing changes: no new version.
    const again = await v2(a.admin.token, 'PUT', path, put.json());
    expect(again.json().meta.versionId).toBe(put.json().meta.versionId);

    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/spp${path}`,
      headers: {
        authorization: `Bearer ${a.admin.token}`,
        'content-type': 'application/merge-patch+json',
        'if-match': `"${put.json().meta.versionId}"`,
      },
      payload: JSON.stringify({
        name: { family: null, text: 'Amina Joy' },
        birthDate: '1991-02-04',
        birthDateEstimated: true,
      }),
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().name).toEqual({ text: 'Amina Joy', given: ['Amina Joy'] });
    expect(patch.json()).toMatchObject({ birthDate: '1991-02-04', birthDateEstimated: true });
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${hearthId}`)).json();
    expect(native).toMatchObject({ full_name: 'Amina Joy', family_name: null, birth_date_estimated: true });
    const stalePatch = await v2(
      a.admin.token,
      'PATCH',
      path,
      { birthDate: '1991-02-05' },
      { 'if-match': `"${version}"` },
    );
    expect(stalePatch.statusCode).toBe(409);
    const badPatch = await v2(a.admin.token, 'PATCH', path, {
      gender: { coding: [{ system: ISO, code: 'X' }] },
    });
    expect(badPatch.statusCode).toBe(422);
    expect((await v2(a.admin.token, 'PATCH', path, { active: false })).statusCode).toBe(422);
    expect((await v2(a.admin.token, 'PATCH', path, { nope: 1 })).statusCode).toBe(422);
    expect((await v2(a.admin.token, 'PUT', path, replaced, { 'if-match': 'garbage' })).statusCode).toBe(400);
    expect((await v2(reader.token, 'PATCH', path, { birthDate: '1991-02-05' })).statusCode).toBe(403);
  });

  it('searches with prefixes, codes, paging and sorting; malformed values → 400, unknown codes → empty', async () => {
    const tag = `Srch${randomBytes(3).toString('hex')}`;
    const ids: string[] = [];
    for (const [i, birth] of ['1980-01-01', '1990-06-15', '2000-12-31'].entries()) {
      const c = await consentedIndividual({
        name: { given: [`${tag}${i}`], family: 'Kamau' },
        birthDate: birth,
        gender: { coding: [{ system: ISO, code: i === 1 ? '1' : '2' }] },
      });
      ids.push(c.hearthId);
    }
    const q = (query: string) => v2(a.admin.token, 'GET', `/Individual?name=${tag}&${query}`);
    const all = (await q('')).json();
    expect(all.meta).toEqual({ total: 3, count: 3, offset: 0 });
    expect(all.links.next).toBeNull();
    expect((await q('birthdate=ge1990-01-01')).json().meta.total).toBe(2);
    expect((await q('birthdate=ge1985-01-01&birthdate=lt2000-01-01')).json().meta.total).toBe(1);
    expect((await q('birthdate=1980-01-01')).json().meta.total).toBe(1);
    expect((await q('birthdate=ne1980-01-01')).json().meta.total).toBe(2);
    expect(
      (await q(`gender=${encodeURIComponent(`${ISO}|1`)}`))
        .json()
        .data.map((x: Json) => x.identifier[0].value),
    ).toEqual([ids[1]]);
    expect((await q('gender=2')).json().meta.total).toBe(2);
    expect((await q(`gender=${encodeURIComponent(`${ISO}|7`)}`)).json()).toMatchObject({
      data: [],
      meta: { total: 0 },
    });
    expect((await q(`gender=${encodeURIComponent('urn:other|2')}`)).json().meta.total).toBe(0);
    expect(
      (await q(`identifier=${encodeURIComponent(`urn:hearth:id:person|${ids[2]}`)}`)).json().meta.total,
    ).toBe(1);
    const sorted = (await q('_sort=-birthdate')).json();
    expect(sorted.data.map((x: Json) => x.birthDate)).toEqual(['2000-12-31', '1990-06-15', '1980-01-01']);
    const page = (await q('_sort=birthdate&_count=2&_offset=0')).json();
    expect(page.meta).toEqual({ total: 3, count: 2, offset: 0 });
    expect(page.links.next).toContain('_offset=2');
    const next = (await v2(a.admin.token, 'GET', page.links.next.replace('/api/v2/spp', ''))).json();
    expect(next.data.map((x: Json) => x.birthDate)).toEqual(['2000-12-31']);
    expect(next.links.prev).toContain('_offset=0');
    for (const bad of [
      'birthdate=gt1990',
      'birthdate=xx1990-01-01',
      '_count=101',
      '_count=0',
      '_offset=-1',
      '_sort=age',
      'gender=',
      'colour=red',
      '_lastUpdated=yesterday',
    ]) {
      const res = await q(bad);
      expect(res.statusCode, bad).toBe(400);
    }
    expect((await q('_lastUpdated=gt2000-01-01T00:00:00Z')).json().meta.total).toBe(3);
    expect(
      (
        await q(`group=${encodeURIComponent('urn:hearth:id:group|0190aaaa-0000-7000-8000-000000000000')}`)
      ).json().meta.total,
    ).toBe(0);
    expect((await q('group=none')).json().meta.total).toBe(3);
  });
});

describe('consent equivalence', () => {
  it('a consent-bound client gets the same answer for an unconsented Individual as for a missing one', async () => {
    const bound = await a.client({ roles: ['tenant_admin'], consent_bound: true, name: 'bound-admin' });
    const tag = `Cons${randomBytes(3).toString('hex')}`;
    const hiddenNid = nid();
    const hidden = await createIndividual(a.admin.token, {
      identifier: [{ system: NATIONAL_ID, value: hiddenNid }],
      name: { text: `${tag} Hidden` },
    });
    const shownNid = nid();
    const shown = await consentedIndividual({
      identifier: [{ system: NATIONAL_ID, value: shownNid }],
      name: { text: `${tag} Shown` },
    });

    const missingUuid = '0190aaaa-0000-7000-8000-000000000000';
    const pairs: [string, string][] = [
      [
        `/Individual/${enc('urn:hearth:id:person', hidden.hearthId)}`,
        `/Individual/${enc('urn:hearth:id:person', missingUuid)}`,
      ],
      [`/Individual/${enc(NATIONAL_ID, hiddenNid)}`, `/Individual/${enc(NATIONAL_ID, 'NO-SUCH-ID')}`],
      [
        `/Individual/${enc(NATIONAL_ID, hiddenNid)}/groups`,
        `/Individual/${enc(NATIONAL_ID, 'NO-SUCH-ID')}/groups`,
      ],
    ];
    for (const [hiddenPath, missingPath] of pairs) {
      const h = await v2(bound.token, 'GET', hiddenPath);
      const m = await v2(bound.token, 'GET', missingPath);
      expect(h.statusCode, hiddenPath).toBe(404);
      expect(m.statusCode).toBe(404);
      const strip = (x: Json) => ({ ...x, correlation_id: undefined, instance: undefined });
      expect(strip(h.json())).toEqual(strip(m.json()));
    }
    const patchHidden = await v2(
      bound.token,
      'PATCH',
      `/Individual/${enc('urn:hearth:id:person', hidden.hearthId)}`,
      { birthDate: '1990-01-01' },
    );
    const patchMissing = await v2(
      bound.token,
      'PATCH',
      `/Individual/${enc('urn:hearth:id:person', missingUuid)}`,
      { birthDate: '1990-01-01' },
    );
    expect(patchHidden.statusCode).toBe(404);
    expect(patchHidden.json().detail).toBe(patchMissing.json().detail);

    const search = (await v2(bound.token, 'GET', `/Individual?name=${tag}`)).json();
    expect(search.meta.total).toBe(1);
    expect(search.data.map((x: Json) => x.identifier[0].value)).toEqual([shown.hearthId]);
    expect((await v2(a.admin.token, 'GET', `/Individual?name=${tag}`)).json().meta.total).toBe(2);
    expect((await v2(bound.token, 'GET', `/Individual/${enc(NATIONAL_ID, shownNid)}`)).statusCode).toBe(200);

    // Inside a $batch too: the entry answers like the route would.
    const batch = await v2(bound.token, 'POST', '/$batch', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Individual/urn:hearth:id:person|${hidden.hearthId}` } },
        { request: { method: 'GET', url: `Individual/urn:hearth:id:person|${shown.hearthId}` } },
      ],
    });
    expect(batch.statusCode, batch.body).toBe(200);
    expect(batch.json().entry.map((e: Json) => e.response.status)).toEqual(['404 Not Found', '200 OK']);
  });
});

describe('Group', () => {
  async function members(n = 2) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await consentedIndividual({ name: { text: `Member ${i}` } }));
    return out;
  }

  it('creates a Group with members, reads it by its identifier and searches it', async () => {
    const hhType = await householdIdType(a);
    const [head, child] = await members(2);
    const hhNumber = `HH-${nid()}`;
    const res = await v2(a.admin.token, 'POST', '/Group', {
      type: 'Group',
      identifier: [{ system: hhType, value: hhNumber }],
      groupType: 'household',
      name: 'Otieno household',
      member: [
        {
          entity: { reference: `Individual/urn:hearth:id:person|${head.hearthId}` },
          role: { coding: [{ code: 'head' }] },
        },
        {
          entity: `Individual/urn:hearth:id:person|${child.hearthId}`,
          role: 'child',
          period: { start: '2024-01-01' },
        },
      ],
      address: [{ city: 'Kisumu' }],
    });
    expect(res.statusCode, res.body).toBe(201);
    const g = res.json();
    const groupId = g.identifier[0].value;
    expect(res.headers.location).toBe(`/api/v2/spp/Group/urn:hearth:id:group%7C${groupId}`);
    expect(g).toMatchObject({
      type: 'Group',
      active: true,
      groupType: 'household',
      name: 'Otieno household',
      quantity: 2,
      identifier: [
        { system: 'urn:hearth:id:group', value: groupId },
        { system: hhType, value: hhNumber },
      ],
      address: [{ city: 'Kisumu' }],
    });
    expect(g.member).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          entity: { reference: `Individual/urn:hearth:id:person|${head.hearthId}` },
          role: {
            coding: [
              { system: 'urn:hearth:vocab:membership-role', code: 'head', display: 'Head of household' },
            ],
          },
          inactive: false,
        }),
        expect.objectContaining({
          entity: { reference: `Individual/urn:hearth:id:person|${child.hearthId}` },
          period: { start: '2024-01-01' },
        }),
      ]),
    );
    const read = await v2(reader.token, 'GET', `/Group/${enc(hhType, hhNumber)}`);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().identifier[0].value).toBe(groupId);
    const byMember = (
      await v2(
        reader.token,
        'GET',
        `/Group?member=${encodeURIComponent(`Individual/urn:hearth:id:person|${child.hearthId}`)}`,
      )
    ).json();
    expect(byMember.data.map((x: Json) => x.identifier[0].value)).toEqual([groupId]);
    expect(
      (
        await v2(reader.token, 'GET', `/Group?identifier=${encodeURIComponent(`${hhType}|${hhNumber}`)}`)
      ).json().meta.total,
    ).toBe(1);
    expect((await v2(reader.token, 'GET', '/Group?name=Otieno&type=cooperative')).json().meta.total).toBe(0);
    expect((await v2(reader.token, 'GET', '/Group?type=no_such_kind')).json().meta.total).toBe(0);
    const groups = (
      await v2(reader.token, 'GET', `/Individual/${enc('urn:hearth:id:person', child.hearthId)}/groups`)
    ).json();
    expect(groups).toMatchObject({ type: 'GroupMembershipList', total: 1 });
    expect(groups.entry[0].resource).toMatchObject({
      type: 'GroupMember',
      status: 'active',
      startDate: '2024-01-01',
    });
    const ind = (
      await v2(a.admin.token, 'GET', `/Individual/${enc('urn:hearth:id:person', child.hearthId)}`)
    ).json();
    expect(ind.groupMembership[0].group.reference).toBe(`Group/urn:hearth:id:group|${groupId}`);
    expect((await v2(b.admin.token, 'GET', `/Group/${enc('urn:hearth:id:group', groupId)}`)).statusCode).toBe(
      404,
    );
    expect((await v2(a.admin.token, 'GET', '/Group/nonsense')).statusCode).toBe(400);
  });

  it('refuses Groups without exactly one head, with unknown members, roles, kinds or identifier systems', async () => {
    const hhType = await householdIdType(a);
    const [p1, p2] = await members(2);
    const ref = (p: { hearthId: string }) => `Individual/urn:hearth:id:person|${p.hearthId}`;
    const base = { identifier: [{ system: hhType, value: `HH-${nid()}` }], name: 'Refused household' };
    const cases: [Json, number, string][] = [
      [{ ...base, member: [{ entity: ref(p1), role: 'child' }] }, 422, 'member'],
      [
        {
          ...base,
          member: [
            { entity: ref(p1), role: 'head' },
            { entity: ref(p2), role: 'head' },
          ],
        },
        422,
        'member',
      ],
      [{ ...base, member: [] }, 422, 'member'],
      [
        {
          ...base,
          member: [
            { entity: 'Individual/urn:hearth:id:person|0190aaaa-0000-7000-8000-000000000000', role: 'head' },
          ],
        },
        422,
        'member[0].entity',
      ],
      [
        {
          ...base,
          member: [
            { entity: ref(p1), role: 'head' },
            { entity: ref(p2), role: 'cousin' },
          ],
        },
        422,
        'relationship_type',
      ],
      [{ ...base, groupType: 'tribe', member: [{ entity: ref(p1), role: 'head' }] }, 422, 'group_kind'],
      [
        {
          ...base,
          identifier: [{ system: 'urn:x', value: '1' }],
          member: [{ entity: ref(p1), role: 'head' }],
        },
        422,
        'identifier[0].system',
      ],
      [{ ...base, member: [{ entity: 'Group/urn:x|1', role: 'head' }] }, 400, 'member[0].entity'],
    ];
    for (const [body, status, field] of cases) {
      const res = await v2(a.admin.token, 'POST', '/Group', body);
      expect(res.statusCode, `${field}: ${res.body}`).toBe(status);
      expect(res.json().errors.map((e: Json) => e.field)).toContain(field);
    }
    // Nothing was written: p1 leads no household.
    const groups = (
      await v2(a.admin.token, 'GET', `/Individual/${enc('urn:hearth:id:person', p1.hearthId)}/groups`)
    ).json();
    expect(groups.total).toBe(0);
    expect((await v2(a.admin.token, 'GET', '/Group?name=Refused')).json().meta.total).toBe(0);
  });

  it('adds and removes members, and updates a Group with If-Match', async () => {
    const hhType = await householdIdType(a);
    const [head, other, late] = await members(3);
    const hh = `HH-${nid()}`;
    const created = await v2(a.admin.token, 'POST', '/Group', {
      identifier: [{ system: hhType, value: hh }],
      name: 'Kamau household',
      member: [{ entity: `Individual/urn:hearth:id:person|${head.hearthId}`, role: 'head' }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const path = `/Group/${enc(hhType, hh)}`;
    const add = await v2(a.admin.token, 'POST', `${path}/$add-member`, {
      entity: { reference: `Individual/urn:hearth:id:person|${other.hearthId}` },
      role: { coding: [{ system: 'urn:hearth:vocab:membership-role', code: 'spouse' }] },
      startDate: '2024-02-01',
    });
    expect(add.statusCode, add.body).toBe(201);
    expect(add.json()).toMatchObject({
      type: 'GroupMember',
      status: 'active',
      startDate: '2024-02-01',
      endedDate: null,
    });
    expect(
      (
        await v2(a.admin.token, 'POST', `${path}/$add-member`, {
          entity: `Individual/urn:hearth:id:person|${other.hearthId}`,
        })
      ).statusCode,
    ).toBe(409);
    expect(
      (
        await v2(reader.token, 'POST', `${path}/$add-member`, {
          entity: `Individual/urn:hearth:id:person|${late.hearthId}`,
        })
      ).statusCode,
    ).toBe(403);
    // reason is optional, as in OpenSPP (issue 14).
    const removed = await v2(a.admin.token, 'POST', `${path}/$remove-member`, {
      entity: `Individual/urn:hearth:id:person|${other.hearthId}`,
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json()).toMatchObject({ status: 'inactive' });
    const notMember = await v2(a.admin.token, 'POST', `${path}/$remove-member`, {
      entity: `Individual/urn:hearth:id:person|${late.hearthId}`,
      reasonCode: 'MOVED',
    });
    expect(notMember.statusCode).toBe(404);

    const current = (await v2(a.admin.token, 'GET', path)).json();
    expect(current.quantity).toBe(1);
    expect(current.member.find((m: Json) => m.inactive)).toBeTruthy();
    const stale = await v2(
      a.admin.token,
      'PUT',
      path,
      { ...current, name: 'Renamed' },
      { 'if-match': '"999"' },
    );
    expect(stale.statusCode).toBe(409);
    const put = await v2(
      a.admin.token,
      'PUT',
      path,
      { ...current, name: 'Renamed' },
      { 'if-match': `"${current.meta.versionId}"` },
    );
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().name).toBe('Renamed');
    expect(put.json().meta.versionId).not.toBe(current.meta.versionId);
    const members2 = await v2(a.admin.token, 'PUT', path, { ...(put.json() as Json), member: [] });
    expect(members2.statusCode).toBe(422);
    const patch = await v2(a.admin.token, 'PATCH', path, {
      groupType: 'family',
      identifier: [...put.json().identifier, { system: PASSPORT, value: `G${nid()}` }],
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({ groupType: 'family' });
    expect(patch.json().identifier).toHaveLength(3);
    const native = (
      await call(t.app, a.admin.token, 'GET', `/api/v1/households/${current.identifier[0].value}`)
    ).json();
    expect(native).toMatchObject({ household_name: 'Renamed', group_kind: 'family' });
  });
});

describe('Program and ProgramMembership', () => {
  async function program(overrides: Record<string, unknown> = {}) {
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/programs', {
      name: 'Cash transfer',
      code: `CT-${randomBytes(4).toString('hex')}`,
      vertical_id: a.verticals.HEALTH,
      target_type: 'individual',
      ...overrides,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as Json;
  }

  it('reads and searches programmes; allowed_programs limits what a client sees', async () => {
    const tag = `Prog${randomBytes(3).toString('hex')}`;
    const p = await program({
      name: `${tag} one`,
      identifiers: [{ system: 'urn:gov:sp', value: tag }],
      period: { start: '2024-01-01' },
    });
    const q = await program({ name: `${tag} two`, target_type: 'group', status: 'ended' });
    const byCode = await v2(reader.token, 'GET', `/Program/${enc('urn:hearth:program-code', p.code)}`);
    expect(byCode.statusCode, byCode.body).toBe(200);
    expect(byCode.json()).toMatchObject({
      type: 'Program',
      name: `${tag} one`,
      active: true,
      targetType: 'individual',
      programType: 'HEALTH',
      period: { start: '2024-01-01' },
      identifier: [
        { system: 'urn:hearth:id:program', value: p.program_id },
        { system: 'urn:hearth:program-code', value: p.code },
        { system: 'urn:gov:sp', value: tag },
      ],
    });
    expect((await v2(reader.token, 'GET', `/Program/${enc('urn:gov:sp', tag)}`)).statusCode).toBe(200);
    expect((await v2(reader.token, 'GET', `/Program/${enc('urn:gov:sp', 'none')}`)).statusCode).toBe(404);
    expect((await v2(reader.token, 'GET', `/Program?name=${tag}`)).json().meta.total).toBe(2);
    expect((await v2(reader.token, 'GET', `/Program?name=${tag}&status=ended`)).json().data[0].name).toBe(
      `${tag} two`,
    );
    expect((await v2(reader.token, 'GET', `/Program?name=${tag}&targetType=group`)).json().meta.total).toBe(
      1,
    );
    expect((await v2(reader.token, 'GET', `/Program?name=${tag}&status=paused`)).json().meta.total).toBe(0);
    expect((await v2(reader.token, 'GET', `/Program?name=${tag}&_count=500`)).statusCode).toBe(400);
    const limited = await a.client({ roles: ['registrar'], allowed_programs: [p.program_id] });
    expect((await v2(limited.token, 'GET', `/Program?name=${tag}`)).json().meta.total).toBe(1);
    expect(
      (await v2(limited.token, 'GET', `/Program/${enc('urn:hearth:id:program', q.program_id)}`)).statusCode,
    ).toBe(404);
    expect(
      (await v2(b.admin.token, 'GET', `/Program/${enc('urn:hearth:id:program', p.program_id)}`)).statusCode,
    ).toBe(404);
  });

  it('enrols through POST /ProgramMembership, reads by membership or beneficiary (409 without ?program= when ambiguous)', async () => {
    const p = await program();
    const q = await program();
    const g = await program({ target_type: 'group' });
    const person = await consentedIndividual();
    const ben = `Individual/urn:hearth:id:person|${person.hearthId}`;
    const res = await v2(a.admin.token, 'POST', '/ProgramMembership', {
      type: 'ProgramMembership',
      program: { reference: `Program/urn:hearth:program-code|${p.code}` },
      beneficiary: { reference: ben },
      status: 'enrolled',
      enrollmentDate: '2024-05-01',
    });
    expect(res.statusCode, res.body).toBe(201);
    const m = res.json();
    expect(m).toMatchObject({
      type: 'ProgramMembership',
      program: { reference: `Program/urn:hearth:id:program|${p.program_id}` },
      beneficiary: { reference: ben },
      status: 'enrolled',
      enrollmentDate: '2024-05-01',
    });
    expect(res.headers.location).toContain(
      '/api/v2/spp/ProgramMembership/urn:hearth:id:program-membership%7C',
    );
    const wrongType = await v2(a.admin.token, 'POST', '/ProgramMembership', {
      program: `Program/urn:hearth:id:program|${g.program_id}`,
      beneficiary: ben,
    });
    expect(wrongType.statusCode).toBe(422);
    const again = await v2(a.admin.token, 'POST', '/ProgramMembership', {
      program: `Program/urn:hearth:id:program|${p.program_id}`,
      beneficiary: ben,
    });
    expect(again.statusCode).toBe(409);
    const unknown = await v2(a.admin.token, 'POST', '/ProgramMembership', {
      program: `Program/urn:hearth:id:program|${p.program_id}`,
      beneficiary: 'Individual/urn:hearth:id:person|0190aaaa-0000-7000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(422);

    const personPath = `/ProgramMembership/${enc('urn:hearth:id:person', person.hearthId)}`;
    const one = await v2(reader.token, 'GET', personPath);
    expect(one.statusCode, one.body).toBe(200);
    await v2(a.admin.token, 'POST', '/ProgramMembership', {
      program: `Program/urn:hearth:id:program|${q.program_id}`,
      beneficiary: ben,
    });
    const ambiguous = await v2(reader.token, 'GET', personPath);
    expect(ambiguous.statusCode).toBe(409);
    const chosen = await v2(
      reader.token,
      'GET',
      `${personPath}?program=${encodeURIComponent(`Program/urn:hearth:id:program|${q.program_id}`)}`,
    );
    expect(chosen.statusCode).toBe(200);
    expect(chosen.json().status).toBe('draft');
    const list = (
      await v2(reader.token, 'GET', `/ProgramMembership?beneficiary=${encodeURIComponent(ben)}`)
    ).json();
    expect(list.meta.total).toBe(2);
    expect(
      (
        await v2(
          reader.token,
          'GET',
          `/ProgramMembership?beneficiary=${encodeURIComponent(ben)}&status=enrolled`,
        )
      ).json().meta.total,
    ).toBe(1);
    expect(
      (
        await v2(
          reader.token,
          'GET',
          `/ProgramMembership?beneficiary=${encodeURIComponent(ben)}&status=bogus`,
        )
      ).json().meta.total,
    ).toBe(0);
    expect((await v2(reader.token, 'GET', '/ProgramMembership?beneficiary=Nothing')).statusCode).toBe(400);

    const byId = `/ProgramMembership/${res.headers.location!.split('/').pop()}`;
    const stale = await v2(a.admin.token, 'PUT', byId, { ...m, status: 'paused' }, { 'if-match': '"9"' });
    expect(stale.statusCode).toBe(409);
    const paused = await v2(
      a.admin.token,
      'PUT',
      byId,
      { ...m, status: 'paused' },
      { 'if-match': `"${m.meta.versionId}"` },
    );
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused', meta: { versionId: '2' } });
    const illegal = await v2(a.admin.token, 'PUT', byId, { ...(paused.json() as Json), status: 'draft' });
    expect(illegal.statusCode).toBe(409);
    const exited = await v2(a.admin.token, 'PUT', byId, {
      ...(paused.json() as Json),
      status: 'exited',
      exitReason: 'graduated',
    });
    expect(exited.statusCode, exited.body).toBe(200);
    expect(exited.json()).toMatchObject({ status: 'exited', exitReason: 'graduated' });
  });

  it('an identifier held by an Individual and a Group is ambiguous (409) where either may be meant', async () => {
    const shared = nid();
    const head = await consentedIndividual({ identifier: [{ system: NATIONAL_ID, value: shared }] });
    const res = await v2(a.admin.token, 'POST', '/Group', {
      identifier: [{ system: NATIONAL_ID, value: shared }],
      name: 'Shared id household',
      member: [{ entity: `Individual/urn:hearth:id:person|${head.hearthId}`, role: 'head' }],
    });
    expect(res.statusCode, res.body).toBe(201);
    const ambiguous = await v2(a.admin.token, 'GET', `/ProgramMembership/${enc(NATIONAL_ID, shared)}`);
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json().code).toBe('ERR_CONFLICT');
    // Each resource type on its own is unambiguous.
    expect((await v2(a.admin.token, 'GET', `/Individual/${enc(NATIONAL_ID, shared)}`)).statusCode).toBe(200);
    expect((await v2(a.admin.token, 'GET', `/Group/${enc(NATIONAL_ID, shared)}`)).statusCode).toBe(200);
  });
});

describe('Vocabulary', () => {
  it('lists vocabularies and their codes by namespace; gender answers to ISO/IEC 5218', async () => {
    const list = await v2(reader.token, 'GET', '/Vocabulary');
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Vocabulary', code: 'gender', alias: ISO })]),
    );
    const iso = await v2(reader.token, 'GET', `/Vocabulary/${encodeURIComponent(ISO)}/codes`);
    expect(iso.statusCode, iso.body).toBe(200);
    expect(iso.json().data.map((c: Json) => c.code)).toEqual(['0', '1', '2', '9']);
    expect(iso.json().data[0].system).toBe(ISO);
    const ids = await v2(
      reader.token,
      'GET',
      `/Vocabulary/${encodeURIComponent('urn:hearth:vocab:id-type')}/codes`,
    );
    expect(ids.json().data.map((c: Json) => c.code)).toContain('national_id');
    expect((await v2(reader.token, 'GET', '/Vocabulary/urn:nothing/codes')).statusCode).toBe(404);
    expect((await v2(b.admin.token, 'GET', '/Vocabulary/gender/codes')).statusCode).toBe(200);
  });
});

describe('$batch', () => {
  it('runs a transaction with placeholders: Individuals, the Group that holds them and its enrolment', async () => {
    const hhType = await householdIdType(a);
    const prog = await call(t.app, a.admin.token, 'POST', '/api/v1/programs', {
      name: 'Household grant',
      code: `HG-${randomBytes(4).toString('hex')}`,
      vertical_id: a.verticals.HEALTH,
      target_type: 'group',
    });
    const code = prog.json().code;
    const tag = `Batch${randomBytes(3).toString('hex')}`;
    const res = await v2(a.admin.token, 'POST', '/$batch', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:head',
          request: { method: 'POST', url: 'Individual' },
          resource: individual({ name: { text: `${tag} Head` } }),
        },
        {
          fullUrl: 'urn:uuid:kid',
          request: { method: 'POST', url: 'Individual' },
          resource: individual({ name: { text: `${tag} Kid` }, birthDate: '2015-01-01' }),
        },
        {
          fullUrl: 'urn:uuid:hh',
          request: { method: 'POST', url: 'Group' },
          resource: {
            resourceType: 'Group',
            identifier: [{ system: hhType, value: `HH-${nid()}` }],
            name: `${tag} household`,
            member: [
              { entity: { reference: 'urn:uuid:head' }, role: 'head' },
              { entity: { reference: 'urn:uuid:kid' }, role: 'child' },
            ],
          },
        },
        {
          request: { method: 'POST', url: 'ProgramMembership' },
          resource: {
            program: `Program/urn:hearth:program-code|${code}`,
            beneficiary: 'urn:uuid:hh',
            status: 'enrolled',
          },
        },
        { request: { method: 'GET', url: 'Group/urn:uuid:hh' } },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.type).toBe('transaction-response');
    expect(out.entry.map((e: Json) => e.response.status)).toEqual([
      '201 Created',
      '201 Created',
      '201 Created',
      '201 Created',
      '200 OK',
    ]);
    expect(out.entry[0].response.location).toMatch(/^\/api\/v2\/spp\/Individual\/urn:hearth:id:person%7C/);
    expect(out.entry[0].response.etag).toBe('"1"');
    const group = out.entry[4].resource;
    expect(group.quantity).toBe(2);
    expect(out.entry[3].resource.beneficiary.reference).toBe(
      `Group/urn:hearth:id:group|${group.identifier[0].value}`,
    );
    expect((await v2(a.admin.token, 'GET', `/Individual?name=${tag}`)).json().meta.total).toBe(2);
  });

  it('a failing transaction writes nothing and answers 422 naming the entry', async () => {
    const tag = `Rollback${randomBytes(3).toString('hex')}`;
    const res = await v2(a.admin.token, 'POST', '/$batch', {
      type: 'transaction',
      entry: [
        {
          request: { method: 'POST', url: 'Individual' },
          resource: individual({ name: { text: `${tag} One` } }),
        },
        {
          request: { method: 'POST', url: 'Individual' },
          resource: individual({
            name: { text: `${tag} Two` },
            gender: { coding: [{ system: ISO, code: '5' }] },
          }),
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ entry: 1, entry_status: 422 });
    expect(res.json().errors[0].field).toBe('entry[1].gender');
    expect((await v2(a.admin.token, 'GET', `/Individual?name=${tag}`)).json().meta.total).toBe(0);
    // A stale If-Match in a transaction entry rolls everything back as well.
    const c = await consentedIndividual();
    const stale = await v2(a.admin.token, 'POST', '/$batch', {
      type: 'transaction',
      entry: [
        {
          request: { method: 'POST', url: 'Individual' },
          resource: individual({ name: { text: `${tag} Three` } }),
        },
        {
          request: { method: 'PATCH', url: `Individual/urn:hearth:id:person|${c.hearthId}`, ifMatch: '"42"' },
          resource: { birthDate: '1999-09-09' },
        },
      ],
    });
    expect(stale.statusCode).toBe(422);
    expect(stale.json()).toMatchObject({
      entry: 1,
      entry_status: 409,
      entry_code: 'ERR_PRECONDITION_FAILED',
    });
    expect((await v2(a.admin.token, 'GET', `/Individual?name=${tag}`)).json().meta.total).toBe(0);
  });

  it('a batch runs entries on their own, each with its scope, If-Match and outcome', async () => {
    const c = await consentedIndividual();
    const version = (
      await v2(a.admin.token, 'GET', `/Individual/${enc('urn:hearth:id:person', c.hearthId)}`)
    ).json().meta.versionId;
    const res = await v2(a.admin.token, 'POST', '/$batch', {
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Individual' }, resource: individual() },
        {
          request: { method: 'POST', url: 'Individual' },
          resource: individual({ identifier: [{ system: 'urn:x', value: '1' }] }),
        },
        {
          request: { method: 'PATCH', url: `Individual/urn:hearth:id:person|${c.hearthId}`, ifMatch: '"42"' },
          resource: { birthDate: '1999-09-09' },
        },
        {
          request: {
            method: 'PATCH',
            url: `/api/v2/spp/Individual/urn:hearth:id:person|${c.hearthId}`,
            ifMatch: `"${version}"`,
          },
          resource: { birthDate: '1999-09-09' },
        },
        { request: { method: 'DELETE', url: `Individual/urn:hearth:id:person|${c.hearthId}` } },
        { request: { method: 'GET', url: 'Consent/123' } },
        { request: { method: 'GET', url: 'Individual/not-an-identifier' } },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.type).toBe('batch-response');
    expect(out.entry.map((e: Json) => e.response.status)).toEqual([
      '201 Created',
      '422 Unprocessable Entity',
      '409 Conflict',
      '200 OK',
      '405 Method Not Allowed',
      '400 Bad Request',
      '400 Bad Request',
    ]);
    expect(out.entry[1].response.outcome).toMatchObject({ code: 'ERR_VAL_RULE_VIOLATION' });
    expect(out.entry[3].resource.birthDate).toBe('1999-09-09');
    const denied = await v2(reader.token, 'POST', '/$batch', {
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Individual' }, resource: individual() },
        { request: { method: 'GET', url: `Individual/urn:hearth:id:person|${c.hearthId}` } },
      ],
    });
    expect(denied.json().entry.map((e: Json) => e.response.status)).toEqual(['403 Forbidden', '200 OK']);
    expect(denied.json().entry[0].response.outcome.required_scope).toBe('individual:create');
    for (const bad of [{ type: 'searchset', entry: [] }, { type: 'batch', entry: [] }, { type: 'batch' }]) {
      expect((await v2(a.admin.token, 'POST', '/$batch', bad)).statusCode).toBe(422);
    }
  });
});

describe('a client’s point of view', () => {
  it('token → household with members → search → update → read back through the native API', async () => {
    // An OpenSPP integration: its own client, a token from the V2 token endpoint, V2 scopes.
    const hhType = await householdIdType(a);
    const creds = (
      await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
        name: 'openspp-mis',
        roles: ['registrar'],
      })
    ).json();
    const tokenRes = await t.app.inject({
      method: 'POST',
      url: '/api/v2/spp/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: creds.client_id,
        client_secret: creds.client_secret,
        scope:
          'individual:read individual:search individual:create individual:update group:read group:create group:update',
      }).toString(),
    });
    expect(tokenRes.statusCode, tokenRes.body).toBe(200);
    const token = tokenRes.json().access_token as string;
    const tag = `Scen${randomBytes(3).toString('hex')}`;

    // Members first, then the household that holds them.
    const head = await v2(
      token,
      'POST',
      '/Individual',
      individual({ name: { given: ['Wanjiku'], family: tag } }),
      { 'x-source-system': 'openspp' },
    );
    const child = await v2(
      token,
      'POST',
      '/Individual',
      individual({ name: { given: ['Njeri'], family: tag }, birthDate: '2016-03-01' }),
    );
    expect([head.statusCode, child.statusCode]).toEqual([201, 201]);
    const headRef = `Individual/urn:hearth:id:person|${head.json().identifier[0].value}`;
    const childRef = `Individual/urn:hearth:id:person|${child.json().identifier[0].value}`;
    const hhNumber = `HH-${nid()}`;
    const group = await v2(token, 'POST', '/Group', {
      type: 'Group',
      identifier: [{ system: hhType, value: hhNumber }],
      name: `${tag} household`,
      groupType: 'household',
      member: [
        {
          entity: { reference: headRef },
          role: { coding: [{ system: 'urn:hearth:vocab:membership-role', code: 'head' }] },
        },
        { entity: { reference: childRef }, role: { coding: [{ code: 'child' }] } },
      ],
    });
    expect(group.statusCode, group.body).toBe(201);

    // Search: by name, then the members of the group.
    const found = (await v2(token, 'GET', `/Individual?name=${tag}&_sort=name`)).json();
    expect(found.meta.total).toBe(2);
    const inGroup = (
      await v2(token, 'GET', `/Individual?group=${encodeURIComponent(`${hhType}|${hhNumber}`)}`)
    ).json();
    // A registrar sees household membership while registering (decision 0012).
    expect(inGroup.meta.total).toBe(2);
    const groups = (await v2(token, 'GET', `/Group?name=${tag}`)).json();
    expect(groups.data[0].member).toHaveLength(2);

    // Update: rename the household and correct the child's name with a merge patch.
    const g = groups.data[0];
    const renamed = await v2(
      token,
      'PUT',
      `/Group/${enc(hhType, hhNumber)}`,
      { ...g, name: `${tag} family` },
      { 'if-match': `"${g.meta.versionId}"` },
    );
    expect(renamed.statusCode, renamed.body).toBe(200);
    const childPath = `/Individual/${enc('urn:hearth:id:person', child.json().identifier[0].value)}`;
    const patched = await v2(
      token,
      'PATCH',
      childPath,
      { name: { text: `Njeri Wairimu ${tag}` } },
      { 'if-match': child.headers.etag as string },
    );
    expect(patched.statusCode, patched.body).toBe(200);

    // Read back through the native API (the staff admin captures consent first, then sees it all).
    const childId = child.json().identifier[0].value;
    await grantConsent(t.app, a.admin.token, childId, a.verticals.HEALTH);
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${childId}`)).json();
    expect(native).toMatchObject({
      full_name: `Njeri Wairimu ${tag}`,
      date_of_birth: '2016-03-01',
      household_id: g.identifier[0].value,
      provenance: { created_by: creds.client_id },
    });
    const versions = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${childId}/versions`)).json()
      .data;
    expect(versions.find((v: Json) => v.change === 'update')).toMatchObject({
      changed_by: creds.client_id,
      fields: ['full_name'],
    });
    const hh = (
      await call(t.app, a.admin.token, 'GET', `/api/v1/households/${g.identifier[0].value}`)
    ).json();
    expect(hh).toMatchObject({
      household_name: `${tag} family`,
      leader_id: head.json().identifier[0].value,
      member_count: 2,
    });
    const members = (
      await call(t.app, a.admin.token, 'GET', `/api/v1/households/${g.identifier[0].value}/members`)
    ).json();
    expect(members.data.map((m: Json) => m.relationship_type).sort()).toEqual(['child', 'head']);
    const headNative = (
      await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${head.json().identifier[0].value}`)
    ).json();
    // The tenant admin sees the person it is registering in full (decision 0012).
    expect(headNative.provenance).not.toBeNull();
    // The V2 view after consent: the registrar now sees the child's personal fields too.
    const after = (await v2(token, 'GET', childPath)).json();
    expect(after).toMatchObject({ birthDate: '2016-03-01', name: { given: ['Njeri'], family: tag } });
  });
});
