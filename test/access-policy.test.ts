// Access policy (issue 14): the role × classification table and its per-tenant override by the
// tenant admin; the registration stage is covered in consent-access.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { consentKit } from './helpers/consent.js';
import { nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let auditor: IssuedTestClient;
let registrar: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  a = await createTestTenant(t);
  auditor = await a.client({ roles: ['auditor'] });
  registrar = await a.client({ roles: ['registrar'] });
});
afterAll(() => t?.close());

const { get, verifiedPerson, evidence, capture } = consentKit(() => ({ t, a }));
const patch = (token: string, body: unknown) => call(t.app, token, 'PATCH', '/api/v1/access-policy', body);

describe('the role × classification table', () => {
  it('lists the defaults and every key in OpenAPI', async () => {
    const policy = (await get(a.admin.token, '/api/v1/access-policy')).json();
    expect(policy.role_field_access.registrar).toEqual({
      personal: 'registration',
      sensitive: 'registration',
    });
    expect(policy.role_field_access.auditor).toEqual({ personal: 'consent', sensitive: 'never' });
    expect(policy.field_classification.contacts).toBe('sensitive');
    // Test tenants relax separation of duties (test/helpers/tenant.ts); the default is covered in separation.test.ts.
    expect(policy.separation_of_duties).toBe(false);
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    // Named schemas are hoisted into components and referenced (docs/decisions/0111).
    const deref = (s: { $ref?: string; [k: string]: unknown }) =>
      s.$ref ? doc.components.schemas[s.$ref.split('/').pop() as string] : s;
    const body = deref(
      doc.paths['/api/v1/access-policy'].patch.requestBody.content['application/json'].schema,
    );
    body.properties.field_classification = deref(body.properties.field_classification);
    body.properties.role_field_access = deref(body.properties.role_field_access);
    expect(Object.keys(body.properties.field_classification.properties)).toEqual(
      expect.arrayContaining([
        'contacts',
        'identities.identity_number',
        'date_of_birth',
        'household.geo_lat',
      ]),
    );
    expect(Object.keys(body.properties.role_field_access.properties)).toEqual(
      expect.arrayContaining(['tenant_admin', 'registrar', 'reviewer', 'auditor']),
    );
  });

  it('the tenant admin overrides it; others may not; unknown keys are refused', async () => {
    const number = `TBL${nid()}`;
    const p = await verifiedPerson(a, { identity_number: number });
    await capture(p.person_id, await evidence());
    const before = (await get(auditor.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(before.identities[0].identity_number).not.toBe(number);
    expect(
      (await patch(registrar.token, { role_field_access: { auditor: { sensitive: 'consent' } } })).statusCode,
    ).toBe(403);
    const bad = await patch(a.admin.token, { field_classification: { shoe_size: 'basic' } });
    expect(bad.statusCode).toBe(422);
    const bad2 = await patch(a.admin.token, { role_field_access: { auditor: { sensitive: 'always' } } });
    expect(bad2.statusCode).toBe(422);
    const ok = await patch(a.admin.token, { role_field_access: { auditor: { sensitive: 'consent' } } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().role_field_access.auditor).toEqual({ personal: 'consent', sensitive: 'consent' });
    // Takes effect at once (read fresh for each operation, so in every process).
    const after = (await get(auditor.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(after.identities[0].identity_number).toBe(number);
    // Registrars lose the registration stage for personal fields when the tenant says so.
    const fresh = await verifiedPerson(a, { given_name: 'Stagey' });
    expect((await get(registrar.token, `/api/v1/persons/${fresh.person_id}`)).json().given_name).toBe(
      'Stagey',
    );
    await patch(a.admin.token, { role_field_access: { registrar: { personal: 'consent' } } });
    expect((await get(registrar.token, `/api/v1/persons/${fresh.person_id}`)).json().given_name).toBeNull();
    await patch(a.admin.token, {
      role_field_access: { registrar: { personal: 'registration' }, auditor: { sensitive: 'never' } },
    });
    const audit = await get(
      a.admin.token,
      '/api/v1/audit-events?action=tenant.access_policy_update&limit=10',
    );
    expect(audit.json().data.length).toBeGreaterThanOrEqual(3);
  });
});
