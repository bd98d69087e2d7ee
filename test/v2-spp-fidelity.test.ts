import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

/** OpenSPP API V2 fidelity (issue 14, item 7): what OpenSPP clients rely on, beyond the shapes. */
let t: TestApp;
let a: TestTenant;
let registrar: IssuedTestClient;
let auditor: IssuedTestClient;
let noPersons: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  a = await createTestTenant(t);
  [registrar, auditor, noPersons] = await Promise.all([
    a.client({ roles: ['registrar'] }),
    a.client({ roles: ['auditor'] }),
    a.client({ roles: ['registrar'], scopes: ['households:read'] }),
  ]);
});
afterAll(() => t?.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
type Json = Record<string, any>;
const NATIONAL_ID = 'urn:hearth:vocab:id-type#national_id';
const enc = (system: string, value: string) => encodeURIComponent(`${system}|${value}`);
const v2 = (
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => call(t.app, token, method as 'GET', `/api/v2/spp${path}`, body, headers);

function individual(national = nid()): Json {
  return {
    type: 'Individual',
    identifier: [{ system: NATIONAL_ID, value: national }],
    name: { given: ['Achieng'], family: 'Odhiambo' },
    birthDate: '1987-09-30',
    gender: { coding: [{ system: 'urn:iso:std:iso:5218', code: '2' }] },
  };
}

async function createIndividual(token: string, headers: Record<string, string> = {}, national = nid()) {
  const res = await v2(token, 'POST', '/Individual', individual(national), headers);
  expect(res.statusCode, res.body).toBe(201);
  return { body: res.json() as Json, national, hearthId: res.json().identifier[0].value as string };
}

describe('PUT /ProgramMembership naming another beneficiary', () => {
  it('is refused with 422 in the face’s error shape and changes nothing; another id of the same beneficiary is fine', async () => {
    const program = await call(t.app, a.admin.token, 'POST', '/api/v1/programs', {
      name: 'Cash transfer',
      code: `CT-${randomBytes(4).toString('hex')}`,
      vertical_id: a.verticals.HEALTH,
      target_type: 'individual',
    });
    expect(program.statusCode, program.body).toBe(201);
    const p = program.json() as Json;
    const one = await createIndividual(a.admin.token);
    const other = await createIndividual(a.admin.token);
    for (const x of [one, other]) await grantConsent(t.app, a.admin.token, x.hearthId, a.verticals.HEALTH);
    const created = await v2(a.admin.token, 'POST', '/ProgramMembership', {
      program: `Program/urn:hearth:id:program|${p.program_id}`,
      beneficiary: `Individual/urn:hearth:id:person|${one.hearthId}`,
      status: 'enrolled',
    });
    expect(created.statusCode, created.body).toBe(201);
    const m = created.json() as Json;
    const path = `/ProgramMembership/${created.headers.location!.split('/').pop()}`;

    const moved = await v2(a.admin.token, 'PUT', path, {
      ...m,
      beneficiary: { reference: `Individual/urn:hearth:id:person|${other.hearthId}` },
      status: 'paused',
    });
    expect(moved.statusCode, moved.body).toBe(422);
    expect(moved.headers['content-type']).toContain('application/problem+json');
    expect(moved.headers['x-api-version']).toBe('2.0.0');
    expect(moved.json()).toMatchObject({
      status: 422,
      code: 'ERR_VAL_RULE_VIOLATION',
      errors: [{ field: 'beneficiary' }],
    });
    // A beneficiary the caller cannot resolve is another beneficiary too.
    const nobody = await v2(a.admin.token, 'PUT', path, {
      ...m,
      beneficiary: 'Individual/urn:hearth:id:person|0190aaaa-0000-7000-8000-000000000000',
      status: 'paused',
    });
    expect(nobody.statusCode, nobody.body).toBe(422);
    const after = await v2(a.admin.token, 'GET', path);
    expect(after.json()).toMatchObject({ status: 'enrolled', meta: { versionId: m.meta.versionId } });

    // The same person named by its national id is the same beneficiary.
    const same = await v2(a.admin.token, 'PUT', path, {
      ...m,
      beneficiary: { reference: `Individual/${NATIONAL_ID}|${one.national}` },
      status: 'paused',
    });
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json()).toMatchObject({
      status: 'paused',
      beneficiary: { reference: `Individual/urn:hearth:id:person|${one.hearthId}` },
    });
  });
});

describe('X-API-Version on every answer of the face', () => {
  it('is sent on 401 (no token, a bad token), 403 and 404 as on 200', async () => {
    for (const [method, path] of [
      ['GET', '/Individual'],
      ['GET', `/Individual/${enc(NATIONAL_ID, '1')}`],
      ['POST', '/Group'],
      ['GET', '/ProgramMembership'],
      ['GET', '/Vocabulary'],
      ['POST', '/$batch'],
    ]) {
      const res = await v2(null, method, path, method === 'POST' ? {} : undefined);
      expect(res.statusCode, `${method} ${path}`).toBe(401);
      expect(res.headers['x-api-version'], `${method} ${path}`).toBe('2.0.0');
      expect(res.headers['www-authenticate']).toContain('Bearer');
    }
    const bad = await v2('not-a-token', 'GET', '/Individual');
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['x-api-version']).toBe('2.0.0');
    const forbidden = await v2(auditor.token, 'POST', '/Individual', individual());
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.headers['x-api-version']).toBe('2.0.0');
    const missing = await v2(registrar.token, 'GET', '/NoSuchResource');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-api-version']).toBe('2.0.0');
    const ok = await v2(registrar.token, 'GET', '/Individual?_count=1');
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['x-api-version']).toBe('2.0.0');
    // The native API does not claim the V2 version.
    expect((await call(t.app, null, 'GET', '/api/v1/persons')).headers['x-api-version']).toBeUndefined();
  });
});

describe('a missing scope is named as a V2 scope', () => {
  it('names the resource and action the client asked for, never the Hearth scope', async () => {
    const person = await createIndividual(a.admin.token);
    const personPath = `/Individual/${enc('urn:hearth:id:person', person.hearthId)}`;
    // The scope is checked before the Group is looked up: any Group path will do.
    const groupPath = `/Group/${enc(NATIONAL_ID, nid())}`;
    const cases: [IssuedTestClient, string, string, unknown, string][] = [
      [auditor, 'POST', '/Individual', individual(), 'individual:create'],
      [auditor, 'PUT', personPath, individual(), 'individual:update'],
      [auditor, 'PATCH', personPath, { birthDate: '1987-10-01' }, 'individual:update'],
      [noPersons, 'GET', '/Individual?_count=1', undefined, 'individual:read'],
      [noPersons, 'GET', personPath, undefined, 'individual:read'],
      [auditor, 'POST', '/Group', { name: 'x' }, 'group:create'],
      [auditor, 'POST', `${groupPath}/$add-member`, { entity: 'Individual/x|y' }, 'group:update'],
      [
        auditor,
        'POST',
        '/ProgramMembership',
        { program: 'Program/x|y', beneficiary: 'Individual/x|y' },
        'program_membership:create',
      ],
    ];
    for (const [client, method, path, body, scope] of cases) {
      const res = await v2(client.token, method, path, body);
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBe(403);
      const problem = res.json();
      expect(problem, `${method} ${path}`).toMatchObject({
        code: 'ERR_SEC_FORBIDDEN',
        required_scope: scope,
      });
      expect(problem.detail).toContain(scope);
      expect(problem.detail).not.toMatch(/persons:|households:|programs:/);
    }
    // A bundle entry is refused in the same words.
    const batch = await v2(auditor.token, 'POST', '/$batch', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'POST', url: 'Individual' }, resource: individual() }],
    });
    expect(batch.statusCode, batch.body).toBe(200);
    const entry = batch.json().entry[0].response;
    expect(entry.status).toBe('403 Forbidden');
    expect(JSON.stringify(entry.outcome)).toContain('individual:create');
    expect(JSON.stringify(entry.outcome)).not.toContain('persons:write');
    // The native API keeps its own names.
    const native = await call(t.app, auditor.token, 'POST', '/api/v1/persons', {
      full_name: 'X',
      gender: '2',
    });
    expect(native.json()).toMatchObject({ required_scope: 'persons:write' });
  });
});

describe('meta.source', () => {
  it('defaults to the API client (urn:hearth:api-client:{client_id}); X-Source-System names another', async () => {
    const plain = await createIndividual(registrar.token);
    expect(plain.body.meta.source).toBe(`urn:hearth:api-client:${registrar.clientId}`);
    const read = await v2(
      registrar.token,
      'GET',
      `/Individual/${enc('urn:hearth:id:person', plain.hearthId)}`,
    );
    expect(read.json().meta.source).toBe(`urn:hearth:api-client:${registrar.clientId}`);

    const named = await createIndividual(registrar.token, { 'x-source-system': 'kobo-field-app' });
    expect(named.body.meta.source).toBe('kobo-field-app');

    // An update records who changed it last: the updating client, by default.
    const path = `/Individual/${enc('urn:hearth:id:person', named.hearthId)}`;
    const patched = await v2(
      a.admin.token,
      'PATCH',
      path,
      { birthDate: '1987-10-01' },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().meta.source).toBe(`urn:hearth:api-client:${a.admin.clientId}`);
  });
});
