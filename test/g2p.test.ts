import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuthHooks } from '../src/auth/hooks.js';
import type { AppError } from '../src/http/errors.js';
import { mergeContacts, mergedPatch } from '../src/registry/person-merge.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { basicOf, expectG2pError, G2P, g2pCaller } from './helpers/g2p.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let reg: IssuedTestClient;
let adm: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  reg = await a.client({ roles: ['registrar'], name: 'openg2p-connector' });
  adm = a.admin;
});
afterAll(() => t?.close());

const g2p = g2pCaller(
  () => t.app,
  () => reg,
);

function individual(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Achieng Odhiambo',
    given_name: 'Achieng',
    family_name: 'Odhiambo',
    gender: 'Female',
    birthdate: '1988-02-03',
    birth_place: 'Kisumu',
    registration_date: '2024-05-06',
    email: 'achieng@example.org',
    address: 'Plot 12, Kondele, Kisumu',
    ids: [{ id_type: 'National ID', value: nid() }],
    phone_numbers: [{ phone_no: '+254 712 000 111', date_collected: '2024-05-06' }],
    ...overrides,
  };
}

const future = () => new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);

/** Nothing with this exact name was written (the search is fuzzy: compare names). */
async function noneNamed(name: string) {
  const res = await g2p('GET', `/individual?name=${encodeURIComponent(name)}`);
  if (res.statusCode === 404) return;
  expect(res.json().map((p: { name: string }) => p.name)).not.toContain(name);
}

describe('G2P authentication', () => {
  it('refuses a missing, unknown or wrong credential with a Basic challenge', async () => {
    const none = await g2p('GET', '/individual', undefined, null);
    expectG2pError(none, 401, 'G2P-REQ-014');
    expect(none.headers['www-authenticate']).toMatch(/^Basic/);
    expect(none.json().code).toBe('ERR_AUTH_INVALID');
    const wrong = await g2p('GET', '/individual', undefined, { clientId: reg.clientId, secret: 'not-it' });
    expectG2pError(wrong, 401, 'G2P-REQ-014');
    const unknown = await g2p('GET', '/individual', undefined, { clientId: 'hc_nobody', secret: 'x' });
    expectG2pError(unknown, 401, 'G2P-REQ-014');
    const garbage = await t.app.inject({
      method: 'GET',
      url: `${G2P}/individual`,
      headers: { authorization: 'Basic !!!' },
    });
    expectG2pError(garbage, 401, 'G2P-REQ-014');
  });

  it('takes a bearer token of the same client too', async () => {
    const res = await call(
      t.app,
      reg.token,
      'POST',
      `${G2P}/individual`,
      individual({ name: 'Bearer Person' }),
    );
    expect(res.statusCode, res.body).toBe(200);
  });

  it('stops a deactivated client and a rotated secret at once, even after a cached success', async () => {
    const c = await a.client({ roles: ['registrar'] });
    expect((await g2p('GET', '/individual?limit=1', undefined, c)).statusCode).not.toBe(401);
    const off = await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/deactivate`);
    expect(off.statusCode, off.body).toBe(200);
    expectG2pError(await g2p('GET', '/individual?limit=1', undefined, c), 401, 'G2P-REQ-014');
    await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/activate`);
    expect((await g2p('GET', '/individual?limit=1', undefined, c)).statusCode).not.toBe(401);
    const rotated = await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expectG2pError(await g2p('GET', '/individual?limit=1', undefined, c), 401, 'G2P-REQ-014');
    const fresh = { clientId: c.clientId, secret: rotated.json().client_secret };
    expect((await g2p('GET', '/individual?limit=1', undefined, fresh)).statusCode).not.toBe(401);
  });

  it('refuses a missing scope with 403 naming it, and writes nothing', async () => {
    const reader = await a.client({ roles: ['registrar'], scopes: ['persons:read'] });
    const res = await g2p('POST', '/individual', individual({ name: 'Scope Less' }), reader);
    const body = expectG2pError(res, 403, 'G2P-REQ-015');
    expect(body.error_description).toContain('persons:write');
    await noneNamed('Scope Less');
    const noHouseholds = await g2p('GET', '/group?name=x', undefined, reader);
    expectG2pError(noHouseholds, 403, 'G2P-REQ-015');
  });

  it("applies the client's rate limit", async () => {
    const c = await a.client({ roles: ['registrar'], rate_limit_per_minute: 2 });
    await g2p('GET', '/individual?limit=1', undefined, c);
    await g2p('GET', '/individual?limit=1', undefined, c);
    const res = await g2p('GET', '/individual?limit=1', undefined, c);
    expectG2pError(res, 429, 'G2P-REQ-016');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('rate-limits Basic credentials that must be hashed, never a remembered pair', async () => {
    // The app's hook and services with a limit of 5 checks a minute (the test app allows 100000).
    const mini = Fastify();
    const services = t.app.hearth.services;
    registerAuthHooks(mini, {
      db: t.db,
      authenticator: services.authenticator,
      limiter: services.limiter,
      defaultRateLimit: 1000,
      basicVerifyRateLimit: 5,
    });
    mini.setErrorHandler((err: AppError, _req, reply) => reply.code(err.status ?? 500).send(err.message));
    mini.get('/probe', { config: { auth: { scheme: 'basic' } } }, async () => 'ok');
    await mini.ready();
    try {
      const c = await a.client({ roles: ['registrar'] });
      const probe = (secret: string) =>
        mini.inject({
          method: 'GET',
          url: '/probe',
          remoteAddress: '10.9.8.7',
          headers: { authorization: basicOf({ clientId: c.clientId, secret }) },
        });
      // The pair was verified when the client's token was issued: remembered, so not counted.
      expect((await probe(c.secret)).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) expect((await probe('wrong')).statusCode).toBe(401);
      expect((await probe('wrong')).statusCode).toBe(429);
      expect((await probe(c.secret)).statusCode).toBe(200);
    } finally {
      await mini.close();
    }
  });
});

describe('G2P individuals', () => {
  it('creates an individual from the seed payload; codes by display name; public ids only', async () => {
    const body = individual();
    const res = await g2p('POST', '/individual', body);
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(res.headers.location).toBe(`${G2P}/individual/${out.id}`);
    expect(out).toMatchObject({ name: 'Achieng Odhiambo', is_group: false });
    // A registrar sees what registration needs before any consent (decision 0012).
    expect(out.gender).toBe('Female');
    expect(out.masked_fields).toEqual([]);

    await grantConsent(t.app, a.admin.token, out.id, a.verticals.HEALTH);
    const full = (await g2p('GET', `/individual/${out.id}`, undefined, adm)).json();
    expect(full).toMatchObject({
      id: out.id,
      given_name: 'Achieng',
      family_name: 'Odhiambo',
      gender: 'Female',
      birthdate: '1988-02-03',
      birth_place: 'Kisumu',
      registration_date: '2024-05-06',
      email: 'achieng@example.org',
      address: 'Plot 12, Kondele, Kisumu',
      ids: [{ id_type: 'National ID', value: (body.ids as { value: string }[])[0].value, status: 'active' }],
      phone_numbers: [{ phone_no: '+254712000111', phone_sanitized: '+254712000111' }],
    });
    expect(Number(full.age)).toBeGreaterThan(30);
    expect(JSON.stringify(full)).not.toMatch(/"id":\s*\d/);

    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${out.id}`)).json();
    expect(native).toMatchObject({
      gender: '2',
      identities: [{ identity_type: 'national_id' }],
      extensions: { g2p: { registration_date: '2024-05-06' } },
      contacts: [
        { type: 'phone', value: '+254712000111', primary: true },
        { type: 'email', value: 'achieng@example.org', primary: false },
      ],
    });
  });

  it('takes coded values as code or display name in any case', async () => {
    for (const [gender, idType] of [
      ['2', 'national_id'],
      ['female', 'NATIONAL ID'],
      ['MALE', 'Passport'],
    ]) {
      const res = await g2p(
        'POST',
        '/individual',
        individual({ gender, ids: [{ id_type: idType, value: nid(), status: 'valid' }] }),
      );
      expect(res.statusCode, res.body).toBe(200);
    }
  });

  it('accepts the optional profile image (image_1920) on create, update and group members, and keeps none of it', async () => {
    // A 1×1 PNG as OpenSPP sends image_1920: base64, no data-URI prefix.
    const image =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const res = await g2p('POST', '/individual', individual({ name: 'Pictured Person', image_1920: image }));
    expect(res.statusCode, res.body).toBe(200);
    const id = res.json().id;
    expect(JSON.stringify(res.json())).not.toContain(image);
    const update = await g2p('PUT', '/update_individual', [
      { updateId: id, image_1920: image, birth_place: 'Eldoret' },
    ]);
    expect(update.statusCode, update.body).toBe(200);
    const cleared = await g2p('PUT', '/update_individual', [{ updateId: id, image_1920: null }]);
    expect(cleared.statusCode, cleared.body).toBe(200);
    // Not stored anywhere (docs/decisions/0057): the native record has no trace of it.
    await grantConsent(t.app, a.admin.token, id, a.verticals.HEALTH);
    const native = await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${id}`);
    expect(native.json()).toMatchObject({ birth_place: 'Eldoret', version_id: 3 });
    expect(native.json().extensions).toEqual({ g2p: { registration_date: '2024-05-06' } });
    expect(native.body).not.toContain(image);
    const tag = nid();
    const body = group(tag);
    (body.members[1] as Record<string, unknown>).image_1920 = image;
    const withMember = await g2p('POST', '/group', body);
    expect(withMember.statusCode, withMember.body).toBe(200);
    expectG2pError(await g2p('POST', '/individual', individual({ image_1920: 42 })), 422, 'G2P-REQ-013');
  });

  it.each([
    ['unknown gender', { gender: 'robot' }, 'G2P-REQ-008'],
    ['missing gender', { gender: null }, 'G2P-REQ-002'],
    ['unknown id type', { ids: [{ id_type: 'Library card', value: '1' }] }, 'G2P-REQ-005'],
    ['unknown id status', { ids: [{ id_type: 'national_id', value: '9', status: 'lost' }] }, 'G2P-REQ-005'],
    ['blank name', { name: '   ' }, 'G2P-REQ-002'],
    ['missing name', { name: undefined }, 'G2P-REQ-002'],
    ['future registration date', { registration_date: future() }, 'G2P-REQ-011'],
    ['future birthdate', { birthdate: future() }, 'G2P-REQ-011'],
    ['malformed date', { birthdate: '03/02/1988' }, 'G2P-REQ-011'],
    [
      'future collection date',
      { phone_numbers: [{ phone_no: '+254712000222', date_collected: future() }] },
      'G2P-REQ-011',
    ],
    ['bad phone', { phone_numbers: [{ phone_no: 'call me maybe' }] }, 'G2P-REQ-006'],
    ['bad email', { email: 'achieng-at-example' }, 'G2P-REQ-007'],
    ['unknown field', { favourite_colour: 'blue' }, 'G2P-REQ-013'],
    ['a group flag', { is_group: true }, 'G2P-REQ-013'],
  ])('refuses %s in the G2P style and writes nothing', async (_what, overrides, code) => {
    const name = `Refused ${nid()}`;
    const body = { ...individual({ name }), ...overrides };
    const res = await g2p('POST', '/individual', body);
    const err = expectG2pError(res, res.statusCode, code);
    expect([400, 422]).toContain(res.statusCode);
    if (code === 'G2P-REQ-008') expect(err.error_description).toContain('gender');
    await noneNamed(name);
  });

  it('relies on the registry refusing blank names: the native API refuses them too (422, not 500)', async () => {
    const person = await call(t.app, a.admin.token, 'POST', '/api/v1/persons', {
      full_name: '  ',
      date_of_birth: '1990-01-01',
      gender: '1',
    });
    expect(person.statusCode, person.body).toBe(422);
    expect(person.json().errors[0].field).toBe('full_name');
    const leader = await createPerson(t.app, a.admin.token);
    const household = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: ' ',
      leader_id: leader.person_id,
    });
    expect(household.statusCode, household.body).toBe(422);
    const rename = await call(t.app, a.admin.token, 'PATCH', `/api/v1/persons/${leader.person_id}`, {
      full_name: ' ',
    });
    expect(rename.statusCode, rename.body).toBe(422);
  });

  it('refuses malformed JSON and an id registered to someone else', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: `${G2P}/individual`,
      headers: { authorization: basicOf(reg), 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectG2pError(bad, 400, 'G2P-REQ-013');
    const number = nid();
    await createPerson(t.app, a.admin.token, { identity_number: number });
    const clash = await g2p(
      'POST',
      '/individual',
      individual({ ids: [{ id_type: 'National ID', value: number }] }),
    );
    expectG2pError(clash, 409, 'G2P-REQ-012');
  });

  it("reads by public id; another tenant's id is a 404 like a missing one", async () => {
    const mine = (await g2p('POST', '/individual', individual())).json();
    expect((await g2p('GET', `/individual/${mine.id}`)).json().id).toBe(mine.id);
    const theirs = await createPerson(t.app, b.admin.token);
    const other = expectG2pError(await g2p('GET', `/individual/${theirs.person_id}`), 404, 'G2P-REQ-010');
    const missing = expectG2pError(
      await g2p('GET', '/individual/00000000-0000-4000-8000-000000000001'),
      404,
      'G2P-REQ-010',
    );
    expect(other.error_description).toBe(missing.error_description);
    expectG2pError(await g2p('GET', '/individual/42'), 400, 'G2P-REQ-013');
    expectG2pError(await g2p('GET', '/nothing-here'), 404, 'G2P-REQ-010');
  });

  it('searches by name within the tenant, pages, and answers no match with G2P-REQ-010', async () => {
    const tag = nid().toLowerCase();
    for (const n of [1, 2, 3]) await g2p('POST', '/individual', individual({ name: `Wanjiku ${tag} ${n}` }));
    await createPerson(t.app, b.admin.token, { full_name: `Wanjiku ${tag} other tenant` });
    const page1 = await g2p('GET', `/individual?name=${tag}&limit=2`);
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json()).toHaveLength(2);
    const next = page1.headers['x-next-cursor'] as string;
    expect(next).toBeTruthy();
    const page2 = await g2p('GET', `/individual?name=${tag}&limit=2&cursor=${encodeURIComponent(next)}`);
    const names = [...page1.json(), ...page2.json()].map((p: { name: string }) => p.name);
    expect(names.filter((n) => n.includes(tag)).sort()).toEqual([1, 2, 3].map((n) => `Wanjiku ${tag} ${n}`));
    expectG2pError(await g2p('GET', '/individual?name=Qxzvw%20Pqjkz'), 404, 'G2P-REQ-010');
    const byId = await g2p('GET', `/individual?_id=${page1.json()[0].id}&name=${tag}`);
    expect(byId.json()).toHaveLength(1);
    expectG2pError(await g2p('GET', '/individual?surname=x'), 400, 'G2P-REQ-013');
  });

  it('a consent-bound client gets the same 404 for an unconsented individual as for a missing one', async () => {
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    const p = (await g2p('POST', '/individual', individual())).json();
    const hidden = expectG2pError(
      await g2p('GET', `/individual/${p.id}`, undefined, bound),
      404,
      'G2P-REQ-010',
    );
    const missing = expectG2pError(
      await g2p('GET', '/individual/00000000-0000-4000-8000-000000000002', undefined, bound),
      404,
      'G2P-REQ-010',
    );
    expect(hidden.error_description).toBe(missing.error_description);
    await grantConsent(t.app, a.admin.token, p.id, a.verticals.HEALTH);
    // A third party without a contract: the basic fields, the rest named in G2P's vocabulary.
    const seen = (await g2p('GET', `/individual/${p.id}`, undefined, bound)).json();
    expect(seen.gender).toBeNull();
    expect(seen.ids).toEqual([]);
    expect(seen.masked_fields).toEqual(
      expect.arrayContaining(['gender', 'ids', 'birthdate', 'phone_numbers']),
    );
    expect(seen.masked_fields).not.toContain('identities');
  });
});

describe('G2P update_individual', () => {
  it('updates by public id: only given fields change, ids upserted, phones and email replaced', async () => {
    const first = nid();
    const p = (
      await g2p('POST', '/individual', individual({ ids: [{ id_type: 'national_id', value: first }] }))
    ).json();
    const passport = nid();
    const res = await g2p('PUT', '/update_individual', [
      {
        updateId: p.id,
        given_name: 'Akinyi',
        gender: 'male',
        family_name: null,
        ids: [{ id_type: 'Passport', value: passport, expiry_date: '2031-01-01' }],
        phone_numbers: [{ phone_no: '+254 733 000 999' }],
        registration_date: '2023-01-02',
      },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toHaveLength(1);
    await grantConsent(t.app, a.admin.token, p.id, a.verticals.HEALTH);
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${p.id}`)).json();
    // create (1), this update (2), verification before the consent (3)
    expect(native).toMatchObject({
      given_name: 'Akinyi',
      family_name: 'Odhiambo',
      gender: '1',
      version_id: 3,
    });
    expect(native.identities.map((i: { identity_number: string }) => i.identity_number).sort()).toEqual(
      [first, passport].sort(),
    );
    expect(native.contacts).toEqual([
      { type: 'phone', value: '+254733000999', primary: true },
      { type: 'email', value: 'achieng@example.org', primary: false },
    ]);
    expect(native.extensions.g2p.registration_date).toBe('2023-01-02');
  });

  it('updates by id value with ?id_type= for a caller allowed to search identities', async () => {
    const number = nid();
    const p = (
      await g2p('POST', '/individual', individual({ ids: [{ id_type: 'national_id', value: number }] }))
    ).json();
    // An exact id value is open to every reader of persons (decision 0012): no sensitive:read needed.
    const byRegistrar = await g2p('PUT', '/update_individual?id_type=National%20ID', [
      { updateId: number, birth_place: 'Nakuru' },
    ]);
    expect(byRegistrar.statusCode, byRegistrar.body).toBe(200);
    await grantConsent(t.app, a.admin.token, p.id, a.verticals.HEALTH);
    const res = await g2p(
      'PUT',
      '/update_individual?id_type=National%20ID',
      [{ updateId: number, birth_place: 'Nairobi' }],
      adm,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()[0]).toMatchObject({ id: p.id, birth_place: 'Nairobi' });
    const unknownType = await g2p('PUT', '/update_individual?id_type=Library', [{ updateId: number }], adm);
    expectG2pError(unknownType, 422, 'G2P-REQ-005');
    const nobody = await g2p('PUT', '/update_individual?id_type=national_id', [{ updateId: 'NOPE1' }], adm);
    expectG2pError(nobody, 404, 'G2P-REQ-010');
  });

  it("is all or nothing: another tenant's id fails the batch and nothing is written", async () => {
    const mine = (await g2p('POST', '/individual', individual())).json();
    const theirs = await createPerson(t.app, b.admin.token);
    const res = await g2p('PUT', '/update_individual', [
      { updateId: mine.id, birth_place: 'Mombasa' },
      { updateId: theirs.person_id, birth_place: 'Mombasa' },
    ]);
    expectG2pError(res, 404, 'G2P-REQ-010');
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${mine.id}`)).json();
    expect(native.version_id).toBe(1);
  });

  it.each([
    ['blank name', { name: ' ' }, 'G2P-REQ-002'],
    ['unknown gender', { gender: 'x' }, 'G2P-REQ-008'],
    ['future registration date', { registration_date: future() }, 'G2P-REQ-011'],
    ['bad email', { email: 'no' }, 'G2P-REQ-007'],
    ['bad phone', { phone_numbers: [{ phone_no: 'abc' }] }, 'G2P-REQ-006'],
    ['a non-public updateId', { updateId: '17' }, 'G2P-REQ-013'],
  ])('refuses %s on update', async (_what, change, code) => {
    const p = (await g2p('POST', '/individual', individual())).json();
    const res = await g2p('PUT', '/update_individual', [{ updateId: p.id, ...change }]);
    expectG2pError(res, res.statusCode, code);
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const native = (await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${p.id}`)).json();
    expect(native.version_id).toBe(1);
  });
});

function group(tag: string, overrides: Record<string, unknown> = {}) {
  return {
    name: `Otieno household ${tag}`,
    kind: 'Household',
    is_partial_group: false,
    registration_date: '2024-03-01',
    address: 'Village 4, Siaya',
    members: [
      { ...individual({ name: `Joseph Otieno ${tag}`, gender: 'Male' }), kind: [{ name: 'Head' }] },
      { ...individual({ name: `Mary Otieno ${tag}` }), kind: [{ name: 'Spouse or partner' }] },
      { ...individual({ name: `Baby Otieno ${tag}`, birthdate: '2020-01-01', email: null }), kind: null },
    ],
    ...overrides,
  };
}

describe('G2P groups', () => {
  it('creates a household with its members in one go and reads it back', async () => {
    const tag = nid();
    const res = await g2p('POST', '/group', group(tag));
    expect(res.statusCode, res.body).toBe(200);
    const g = res.json();
    expect(res.headers.location).toBe(`${G2P}/group/${g.id}`);
    expect(g).toMatchObject({
      name: `Otieno household ${tag}`,
      is_group: true,
      kind: 'Household',
      member_count: 3,
      registration_date: '2024-03-01',
      ids: [],
    });
    const kinds = g.members.map((m: { kind: { name: string }[] }) => m.kind[0].name).sort();
    expect(kinds).toEqual(['Head of household', 'Member', 'Spouse or partner']);
    const head = g.members.find((m: { kind: { name: string }[] }) => m.kind[0].name === 'Head of household');
    await grantConsent(t.app, a.admin.token, head.individual.id, a.verticals.HEALTH);
    const read = (await g2p('GET', `/group/${g.id}`, undefined, adm)).json();
    expect(read).toMatchObject({ id: g.id, is_partial_group: false, registration_date: '2024-03-01' });
    const nativeHousehold = (await call(t.app, a.admin.token, 'GET', `/api/v1/households/${g.id}`)).json();
    expect(nativeHousehold).toMatchObject({ leader_id: head.individual.id, group_kind: 'household' });
  });

  it('searches groups by name, with members on request; no match is G2P-REQ-010', async () => {
    const tag = nid();
    await g2p('POST', '/group', group(tag));
    const short = await g2p('GET', `/group?name=${tag.toLowerCase()}`);
    expect(short.statusCode, short.body).toBe(200);
    expect(short.json()).toHaveLength(1);
    expect(short.json()[0].members).toBeUndefined();
    const full = await g2p('GET', `/group?name=${tag}&include_members_full=true`);
    expect(full.json()[0].members).toHaveLength(3);
    expectG2pError(await g2p('GET', `/group?name=none-${tag}`), 404, 'G2P-REQ-010');
  });

  it.each([
    ['an unknown group kind', { kind: 'Tribe' }, 'G2P-REQ-003'],
    ['an unknown member kind', 'kind:Cousin', 'G2P-REQ-004'],
    ['two member kinds', 'kind:two', 'G2P-REQ-001'],
    ['no head', 'nohead', 'G2P-REQ-004'],
    ['a bad member phone', 'phone', 'G2P-REQ-006'],
    ['a member with an unknown gender', 'gender', 'G2P-REQ-008'],
    ['ids on the group', { ids: [{ id_type: 'national_id', value: '1' }] }, 'G2P-REQ-013'],
    ['a future registration date', { registration_date: '2999-01-01' }, 'G2P-REQ-011'],
    ['a blank name', { name: ' ' }, 'G2P-REQ-002'],
  ])('refuses %s and writes no member', async (_what, change, code) => {
    const tag = nid();
    const body = group(tag) as ReturnType<typeof group> & Record<string, unknown>;
    const members = body.members as Record<string, unknown>[];
    if (change === 'kind:Cousin') members[2].kind = [{ name: 'Cousin' }];
    else if (change === 'kind:two') members[2].kind = [{ name: 'child' }, { name: 'member' }];
    else if (change === 'nohead') members[0].kind = [{ name: 'member' }];
    else if (change === 'phone') members[2].phone_numbers = [{ phone_no: 'n/a' }];
    else if (change === 'gender') members[2].gender = 'unknown';
    else Object.assign(body, change);
    const res = await g2p('POST', '/group', body);
    expectG2pError(res, res.statusCode, code);
    expect([400, 422]).toContain(res.statusCode);
    await noneNamed(`Joseph Otieno ${tag}`);
  });

  it('rolls every member back when a later one fails in the database', async () => {
    const tag = nid();
    const number = nid();
    await createPerson(t.app, a.admin.token, { identity_number: number });
    const body = group(tag);
    (body.members[2] as Record<string, unknown>).ids = [{ id_type: 'national_id', value: number }];
    expectG2pError(await g2p('POST', '/group', body), 409, 'G2P-REQ-012');
    await noneNamed(`Joseph Otieno ${tag}`);
    await noneNamed(`Mary Otieno ${tag}`);
  });

  it("answers another tenant's group like a missing one", async () => {
    const theirs = await g2p('POST', '/group', group(nid()), b.admin);
    expect(theirs.statusCode, theirs.body).toBe(200);
    const other = expectG2pError(await g2p('GET', `/group/${theirs.json().id}`), 404, 'G2P-REQ-010');
    const missing = expectG2pError(
      await g2p('GET', '/group/00000000-0000-4000-8000-000000000003'),
      404,
      'G2P-REQ-010',
    );
    expect(other.error_description).toBe(missing.error_description);
  });
});

describe('G2P scenario, from an OpenG2P client', () => {
  it('creates a household with members, finds it, updates a member, and the native API agrees', async () => {
    const tag = nid();
    const client = { clientId: reg.clientId, secret: reg.secret };
    // 1. Register the household and its members (HTTP Basic, as OpenG2P clients do).
    const created = await g2p('POST', '/group', group(tag), client);
    expect(created.statusCode, created.body).toBe(200);
    // 2. Find it by name and pick the spouse.
    const found = await g2p(
      'GET',
      `/group?name=${encodeURIComponent(`household ${tag}`)}&include_members_full=true`,
    );
    expect(found.statusCode, found.body).toBe(200);
    const household = found.json()[0];
    const spouse = household.members.find(
      (m: { kind: { name: string }[] }) => m.kind[0].name === 'Spouse or partner',
    ).individual;
    // 3. Update the spouse: a new phone, a corrected given name, a passport.
    const passport = nid();
    const updated = await g2p(
      'PUT',
      '/update_individual',
      [
        {
          updateId: spouse.id,
          name: `Mary Atieno ${tag}`,
          given_name: 'Mary',
          phone_numbers: [{ phone_no: '+254722111333', date_collected: '2024-06-01' }],
          ids: [{ id_type: 'passport', value: passport }],
        },
      ],
      client,
    );
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json()[0]).toMatchObject({ id: spouse.id, name: `Mary Atieno ${tag}` });
    // 4. Read it back through the native API (after the household's consent is captured).
    await grantConsent(t.app, a.admin.token, spouse.id, a.verticals.HEALTH);
    const native = await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${spouse.id}`);
    expect(native.statusCode).toBe(200);
    expect(native.json()).toMatchObject({
      full_name: `Mary Atieno ${tag}`,
      given_name: 'Mary',
      gender: '2',
      household_id: household.id,
      version_id: 3,
      provenance: { created_by: reg.clientId },
    });
    const versions = await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${spouse.id}/versions`);
    expect(versions.json().data.find((v: { version_id: number }) => v.version_id === 2)).toMatchObject({
      change: 'update',
      changed_by: reg.clientId,
    });
    expect(native.json().contacts[0]).toEqual({ type: 'phone', value: '+254722111333', primary: true });
    expect(
      native
        .json()
        .identities.map((i: { identity_type: string }) => i.identity_type)
        .sort(),
    ).toEqual(['national_id', 'passport']);
    const members = await call(t.app, a.admin.token, 'GET', `/api/v1/households/${household.id}/members`);
    expect(members.json().data.map((m: { person_id: string }) => m.person_id)).toContain(spouse.id);
  });
});

describe('registry additions used by the G2P face', () => {
  it('merges lists instead of replacing them', () => {
    const stored = {
      identities: [
        {
          identity_type: 'national_id',
          identity_number: 'A-1',
          expiry_date: null,
          status: 'active',
          description: null,
        },
        {
          identity_type: 'passport',
          identity_number: 'P1',
          expiry_date: null,
          status: 'active',
          description: null,
        },
      ],
      contacts: [
        { type: 'phone', value: '+254700000001', primary: true },
        { type: 'email', value: 'old@example.org', primary: false },
      ],
      extensions: { g2p: { registration_date: '2020-01-01', is_partial_group: true }, farm: { acres: 2 } },
    };
    const patch = mergedPatch(stored, {
      identities: [{ identity_type: 'passport', identity_number: 'p 1', status: 'expired' }],
      contacts: [{ type: 'email', value: 'new@example.org' }],
      extensions: { g2p: { registration_date: '2021-02-02' } },
    });
    expect(patch.identities).toEqual([
      { identity_type: 'passport', identity_number: 'p 1', status: 'expired' },
      { identity_type: 'national_id', identity_number: 'A-1', status: 'active' },
    ]);
    expect(patch.contacts).toEqual([
      { type: 'email', value: 'new@example.org', primary: false },
      { type: 'phone', value: '+254700000001', primary: true },
    ]);
    expect(patch.extensions).toEqual({
      g2p: { registration_date: '2021-02-02', is_partial_group: true },
      farm: { acres: 2 },
    });
    expect(
      mergeContacts(stored.contacts, [{ type: 'phone', value: '+254700000009', primary: true }]),
    ).toEqual([
      { type: 'phone', value: '+254700000009', primary: true },
      { type: 'email', value: 'old@example.org', primary: false },
    ]);
  });

  it('reserves the g2p extension name', async () => {
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/extension-schemas', {
      name: 'g2p',
      applies_to: 'both',
      schema: { type: 'object' },
    });
    expect(res.statusCode, res.body).toBe(409);
  });

  it('replays a group creation sent twice with the same Idempotency-Key', async () => {
    const body = group(nid());
    const key = `g2p-group-${nid()}`;
    const first = await t.app.inject({
      method: 'POST',
      url: `${G2P}/group`,
      headers: { authorization: basicOf(reg), 'idempotency-key': key },
      payload: body,
    });
    const again = await t.app.inject({
      method: 'POST',
      url: `${G2P}/group`,
      headers: { authorization: basicOf(reg), 'idempotency-key': key },
      payload: body,
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await t.app.inject({
      method: 'POST',
      url: `${G2P}/group`,
      headers: { authorization: basicOf(reg), 'idempotency-key': key },
      payload: { ...body, name: 'Another name' },
    });
    expectG2pError(other, 422, 'G2P-REQ-013');
    expect(other.json().code).toBe('ERR_IDEMPOTENCY_MISMATCH');
  });
});
