import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { type Creds, expectG2pError, G2P, g2pCaller } from './helpers/g2p.js';
import { grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

// PUT /update_group (docs/decisions/0068): a group update shaped like update_individual.

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

function member(name: string, kind: string | null, gender = 'Female') {
  return {
    name,
    gender,
    birthdate: '1985-07-08',
    ids: [{ id_type: 'National ID', value: nid() }],
    ...(kind ? { kind: [{ name: kind }] } : {}),
  };
}

/** A group created through POST /group; its id and its head's id. */
async function newGroup(creds: Creds = reg) {
  const tag = nid();
  const res = await g2p(
    'POST',
    '/group',
    {
      name: `Onyango household ${tag}`,
      kind: 'Household',
      is_partial_group: true,
      registration_date: '2024-02-01',
      address: 'Village 7, Homa Bay',
      members: [member(`Peter Onyango ${tag}`, 'Head', 'Male'), member(`Rose Onyango ${tag}`, null)],
    },
    creds,
  );
  expect(res.statusCode, res.body).toBe(200);
  const g = res.json();
  const head = g.members.find((m: { kind: { name: string }[] }) => m.kind[0].name === 'Head of household');
  return { id: g.id as string, headId: head.individual.id as string, tag };
}

async function native(id: string, token = a.admin.token) {
  const res = await call(t.app, token, 'GET', `/api/v1/households/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('G2P update_group', () => {
  it('updates name, kind and address by public id; only given fields change; reads back', async () => {
    const g = await newGroup();
    const res = await g2p('PUT', '/update_group', [
      {
        updateId: g.id,
        name: `Onyango-Achieng household ${g.tag}`,
        kind: 'cooperative',
        address: 'Plot 3, Rodi Kopany',
        is_partial_group: null,
        email: null,
        ids: [],
      },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toHaveLength(1);
    expect(res.json()[0]).toMatchObject({
      id: g.id,
      is_group: true,
      name: `Onyango-Achieng household ${g.tag}`,
      kind: 'Cooperative',
      member_count: 2,
    });
    expect(res.json()[0].members).toBeUndefined();

    // Read back through the G2P face and the native API.
    const read = (await g2p('GET', `/group/${g.id}`)).json();
    expect(read).toMatchObject({ name: `Onyango-Achieng household ${g.tag}`, kind: 'Cooperative' });
    expect(read.members).toHaveLength(2);
    await grantConsent(t.app, a.admin.token, g.headId, a.verticals.HEALTH);
    expect(await native(g.id)).toMatchObject({
      household_name: `Onyango-Achieng household ${g.tag}`,
      group_kind: 'cooperative',
      address: { text: 'Plot 3, Rodi Kopany' },
      version_id: 2,
      leader_id: g.headId,
      // Not named in the update: kept.
      extensions: { g2p: { registration_date: '2024-02-01', is_partial_group: true } },
    });
    const versions = await call(t.app, a.admin.token, 'GET', `/api/v1/households/${g.id}/versions`);
    expect(versions.json().data.find((v: { version_id: number }) => v.version_id === 2)).toMatchObject({
      change: 'update',
      changed_by: reg.clientId,
    });
  });

  it('merges registration_date and is_partial_group into the stored values for a caller who sees them', async () => {
    const g = await newGroup();
    // An auditor sees the group without its head's consent, but not its details: it may not
    // change what it cannot see (a household PATCH replaces extensions whole). (A registrar sees
    // them while the household is registered, decision 0012.)
    const auditorCreds = await a.client({ roles: ['auditor', 'registrar'] });
    await call(t.app, a.admin.token, 'PATCH', '/api/v1/access-policy', {
      role_field_access: { registrar: { personal: 'consent' } },
    });
    const hidden = await g2p('PUT', '/update_group', [{ updateId: g.id, registration_date: '2023-12-31' }], {
      clientId: auditorCreds.clientId,
      secret: auditorCreds.secret,
    });
    await call(t.app, a.admin.token, 'PATCH', '/api/v1/access-policy', {
      role_field_access: { registrar: { personal: 'registration' } },
    });
    const err = expectG2pError(hidden, 403, 'G2P-REQ-015');
    expect(err.error_description).toContain('registration_date');
    expect((await native(g.id)).version_id).toBe(1);

    await grantConsent(t.app, a.admin.token, g.headId, a.verticals.HEALTH);
    const res = await g2p('PUT', '/update_group', [{ updateId: g.id, registration_date: '2023-12-31' }], adm);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()[0]).toMatchObject({ registration_date: '2023-12-31', is_partial_group: true });
    const flag = await g2p('PUT', '/update_group', [{ updateId: g.id, is_partial_group: false }], adm);
    expect(flag.statusCode, flag.body).toBe(200);
    expect(await native(g.id)).toMatchObject({
      version_id: 3,
      extensions: { g2p: { registration_date: '2023-12-31', is_partial_group: false } },
    });
  });

  it('answers an unknown or non-public id with the G2P not-found and format errors', async () => {
    const missing = expectG2pError(
      await g2p('PUT', '/update_group', [{ updateId: '00000000-0000-4000-8000-000000000077', name: 'X' }]),
      404,
      'G2P-REQ-010',
    );
    expect(missing.error_description).toContain('household not found');
    const notPublic = await g2p('PUT', '/update_group', [{ updateId: '17', name: 'X' }]);
    expect(expectG2pError(notPublic, 422, 'G2P-REQ-013').error_description).toContain('[0].updateId');
  });

  it("answers another tenant's group like a missing one and leaves it unchanged", async () => {
    const theirs = await newGroup(b.admin);
    const other = expectG2pError(
      await g2p('PUT', '/update_group', [{ updateId: theirs.id, name: 'Taken over' }]),
      404,
      'G2P-REQ-010',
    );
    const missing = expectG2pError(
      await g2p('PUT', '/update_group', [{ updateId: '00000000-0000-4000-8000-000000000078', name: 'X' }]),
      404,
      'G2P-REQ-010',
    );
    expect(other.error_description).toBe(missing.error_description);
    const still = await native(theirs.id, b.admin.token);
    expect(still).toMatchObject({ household_name: `Onyango household ${theirs.tag}`, version_id: 1 });
  });

  it('a consent-bound client gets the same answer for a group whose head has not consented as for a missing one', async () => {
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    const g = await newGroup();
    const missingId = '00000000-0000-4000-8000-000000000079';
    for (const change of [{ name: 'Unseen' }, { registration_date: '2020-01-01' }, { kind: 'family' }]) {
      const hidden = await g2p('PUT', '/update_group', [{ updateId: g.id, ...change }], bound);
      const missing = await g2p('PUT', '/update_group', [{ updateId: missingId, ...change }], bound);
      expectG2pError(hidden, 404, 'G2P-REQ-010');
      const { correlation_id: _h, ...hb } = hidden.json();
      const { correlation_id: _m, ...mb } = missing.json();
      expect(JSON.stringify(hb).replaceAll(g.id, missingId)).toBe(JSON.stringify(mb));
    }
    expect((await native(g.id)).version_id).toBe(1);
  });

  it('refuses a client without households:write, naming the scope, and writes nothing', async () => {
    const g = await newGroup();
    const reader = await a.client({
      roles: ['registrar'],
      scopes: ['households:read', 'persons:read', 'persons:write'],
    });
    const res = await g2p('PUT', '/update_group', [{ updateId: g.id, name: 'No scope' }], reader);
    expect(expectG2pError(res, 403, 'G2P-REQ-015').error_description).toContain('households:write');
    expect((await native(g.id)).version_id).toBe(1);
  });

  it('refuses an archived group as a state conflict', async () => {
    const g = await newGroup();
    const archived = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${g.id}/archive`, {
      reason_code: 'MOVED',
    });
    expect(archived.statusCode, archived.body).toBe(200);
    expectG2pError(await g2p('PUT', '/update_group', [{ updateId: g.id, name: 'Late' }]), 409, 'G2P-REQ-017');
  });

  it.each([
    ['an unknown group kind', { kind: 'Tribe' }, 422, 'G2P-REQ-003'],
    ['a blank name', { name: '  ' }, 422, 'G2P-REQ-002'],
    ['a future registration date', { registration_date: '2999-01-01' }, 422, 'G2P-REQ-011'],
    ['ids on the group', { ids: [{ id_type: 'national_id', value: '1' }] }, 422, 'G2P-REQ-013'],
    ['an email on the group', { email: 'group@example.org' }, 422, 'G2P-REQ-013'],
    ['members', { members: [{ name: 'New baby' }] }, 422, 'G2P-REQ-013'],
    ['an unknown field', { motto: 'together' }, 422, 'G2P-REQ-013'],
    ['an individual flag', { is_group: false }, 422, 'G2P-REQ-013'],
  ])('refuses %s in the G2P style and writes nothing', async (_what, change, status, code) => {
    const g = await newGroup();
    const res = await g2p('PUT', '/update_group', [{ updateId: g.id, name: 'Renamed', ...change }]);
    const err = expectG2pError(res, status, code);
    if (code === 'G2P-REQ-003') expect(err.error_description).toContain('[0].kind');
    if (_what === 'members') expect(err.error_description).toContain('/api/v1/households/{id}/members');
    expect((await native(g.id)).version_id).toBe(1);
  });

  it('takes one group per request and no query parameters', async () => {
    const [g, h] = [await newGroup(), await newGroup()];
    const two = await g2p('PUT', '/update_group', [
      { updateId: g.id, name: 'One' },
      { updateId: h.id, name: 'Two' },
    ]);
    expectG2pError(two, 422, 'G2P-REQ-013');
    expectG2pError(await g2p('PUT', '/update_group', []), 422, 'G2P-REQ-013');
    const query = await g2p('PUT', '/update_group?id_type=national_id', [{ updateId: g.id, name: 'Q' }]);
    expectG2pError(query, 400, 'G2P-REQ-013');
    expect((await native(g.id)).version_id).toBe(1);
    expect((await native(h.id)).version_id).toBe(1);
  });

  it('is described in the OpenAPI document with its G2P error responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths[`${G2P}/update_group`]?.put;
    expect(op).toBeDefined();
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '403', '404', '422']));
    const named = [...JSON.stringify(op.requestBody).matchAll(/#\/components\/schemas\/(\w+)/g)].map(
      (m) => doc.components.schemas[m[1]],
    );
    expect(JSON.stringify([op.requestBody, ...named])).toContain('updateId');
  });
});
