import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHearthClient, type HearthClient, type Schemas } from '../client/index.js';
import { HAND_EXAMPLES } from '../src/openapi/hand-examples.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { nid } from './helpers/registry.js';
import { createTestTenant, type TestTenant } from './helpers/tenant.js';

/**
 * Hearth's own API (/api/v1) driven through the generated typed client (client/index.ts, from
 * client/openapi.json) over real HTTP: if the document says something the server does not do,
 * or the types are wrong, this fails. It follows the walk of the /docs introduction: a token, a
 * person from the documented example, a consent, a refusal in the documented problem shape.
 */

let t: TestApp;
let a: TestTenant;
let baseUrl: string;

function clientWith(token?: string): HearthClient {
  const client = createHearthClient({ baseUrl });
  if (token) {
    client.use({
      onRequest({ request }) {
        request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  a = await createTestTenant(t);
});
afterAll(async () => t?.close());

describe('generated TypeScript client on the Hearth API', () => {
  it('gets a token, registers the documented example person, captures a consent and reads them back', async () => {
    const admin = clientWith(a.admin.token);
    const created = await admin.POST('/api/v1/clients', {
      body: { name: 'registration desk', roles: ['registrar'] } satisfies Schemas['ClientCreate'],
    });
    expect(created.response.status).toBe(201);
    const registrarCreds = created.data as Schemas['ClientWithSecret'];

    const token = await clientWith().POST('/oauth/token', {
      body: {
        grant_type: 'client_credentials',
        client_id: registrarCreds.client_id,
        client_secret: registrarCreds.client_secret,
      },
    });
    expect(token.response.status, JSON.stringify(token.error)).toBe(200);
    const registrar = clientWith((token.data as Schemas['TokenResponse']).access_token);

    // The example of /docs, with an identity number unique to this run and no geo area.
    const { geo_id: _geo, ...example } = HAND_EXAMPLES.PersonCreate as Schemas['PersonCreate'];
    const body: Schemas['PersonCreate'] = {
      ...example,
      identities: [{ identity_type: 'national_id', identity_number: nid() }],
    };
    const person = await registrar.POST('/api/v1/persons', { body });
    expect(person.response.status, JSON.stringify(person.error)).toBe(201);
    const personId = (person.data as Schemas['PersonCreated']).person_id;

    const verified = await admin.POST('/api/v1/persons/{person_id}/verify', {
      params: { path: { person_id: personId } },
      body: { verification_status: 'verified' } satisfies Schemas['VerifyBody'],
    });
    expect(verified.response.status, JSON.stringify(verified.error)).toBe(200);

    const consent = await registrar.POST('/api/v1/persons/{person_id}/consents', {
      params: { path: { person_id: personId } },
      body: {
        vertical_id: a.verticals.HEALTH,
        active_from: new Date(Date.now() - 60_000).toISOString(),
        capture_mode: 'online',
        captured_by: 'field officer',
      },
    });
    expect(consent.response.status, JSON.stringify(consent.error)).toBe(201);
    expect((consent.data as Schemas['Consent']).person_id).toBe(personId);

    const read = await registrar.GET('/api/v1/persons/{person_id}', {
      params: { path: { person_id: personId } },
    });
    expect(read.response.status).toBe(200);
    expect(read.data?.full_name).toBe('Amina Wanjiru Otieno');
    // A consent without evidence is pending; what the registrar sees is the access policy's call.
    expect((consent.data as Schemas['Consent']).status).toBe('pending');
    expect(Array.isArray(read.data?.masked_fields)).toBe(true);

    const consents = await registrar.GET('/api/v1/persons/{person_id}/consents', {
      params: { path: { person_id: personId } },
    });
    expect(consents.data?.data.map((c) => c.vertical_id)).toEqual([a.verticals.HEALTH]);
  });

  it('answers refusals in the documented problem shape, typed as Problem', async () => {
    const missing = await clientWith(a.admin.token).GET('/api/v1/persons/{person_id}', {
      params: { path: { person_id: '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f' } },
    });
    expect(missing.response.status).toBe(404);
    const problem: Schemas['Problem'] | undefined = missing.error;
    expect(problem?.code).toBe('ERR_NOT_FOUND');
    expect(missing.response.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const anonymous = await clientWith().GET('/api/v1/persons', {});
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error?.code).toBe('ERR_AUTH_INVALID');
  });
});
