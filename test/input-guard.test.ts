import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUnstorable, MAX_JSON_DEPTH } from '../src/lib/storable.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { expressionQuery, searchEnvelope, searchItem } from './helpers/dci-client.js';
import { basicOf, expectG2pError, G2P } from './helpers/g2p.js';
import { personBody } from './helpers/registry.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

/** `{"a":{"a":…}}` n levels deep, as text (JSON.stringify of it would itself be recursive). */
function deepJson(n: number, leaf = '1'): string {
  return `${'{"a":'.repeat(n)}${leaf}${'}'.repeat(n)}`;
}

describe('findUnstorable', () => {
  it('finds NUL in values and keys, names the field, and limits depth without recursion', () => {
    expect(findUnstorable({ full_name: 'Amina\u0000X' })).toMatchObject({ field: 'full_name' });
    expect(findUnstorable({ identities: [{ number: 'x' }, { number: 'a\u0000' }] })).toMatchObject({
      field: 'identities[1].number',
    });
    expect(findUnstorable({ extensions: { 'k\u0000': 1 } })?.field).toBe('extensions.k\\u0000');
    expect(findUnstorable({ ok: 'fine', n: 1, b: true, z: null })).toBeNull();
    // 100,000 levels: a recursive walk would overflow the stack here.
    const deep = JSON.parse(deepJson(100_000));
    expect(findUnstorable(deep)).toMatchObject({ code: 'ERR_VAL_RULE_VIOLATION' });
    expect(findUnstorable(JSON.parse(deepJson(MAX_JSON_DEPTH)))).toBeNull();
    expect(findUnstorable(JSON.parse(deepJson(MAX_JSON_DEPTH + 1)))).not.toBeNull();
  });
});

describe('input PostgreSQL cannot store is refused on every face, in its shape', () => {
  let t: TestApp;
  let a: TestTenant;

  beforeAll(async () => {
    t = await createTestApp();
    a = await createTestTenant(t);
  });
  afterAll(() => t?.close());

  async function personCount(): Promise<number> {
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM persons WHERE tenant_id = $1',
      [a.tenantId],
    );
    return rows[0].n;
  }

  it('native: body, query and path → 422 problem+json naming the field, nothing written', async () => {
    const before = await personCount();
    const body = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/persons',
      personBody({ full_name: 'Amina\u0000X' }),
    );
    expect(body.statusCode, body.body).toBe(422);
    expect(body.headers['content-type']).toContain('application/problem+json');
    expect(body.json().errors[0].field).toBe('full_name');
    expect(body.json().correlation_id).toBeTruthy();

    const query = await call(t.app, a.admin.token, 'GET', '/api/v1/audit-events?action=a%00b');
    expect(query.statusCode, query.body).toBe(422);
    expect(query.json().errors[0].field).toBe('action');

    const path = await call(t.app, a.admin.token, 'GET', '/api/v1/persons/a%00b');
    expect(path.statusCode, path.body).toBe(422);
    expect(path.json().errors[0].field).toBe('person_id');

    const deep = await t.app.inject({
      method: 'POST',
      url: '/api/v1/persons',
      headers: { authorization: `Bearer ${a.admin.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(personBody()).replace(/}$/, `,"extensions":${deepJson(5000)}}`),
    });
    expect(deep.statusCode, deep.body).toBe(422);
    expect(deep.json().errors[0].field).toMatch(/^extensions\.a/);
    expect(await personCount()).toBe(before);
  });

  it('G2P: 422 in the G2P shape', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${G2P}/individual?name=a%00b`,
      headers: { authorization: basicOf({ clientId: a.admin.clientId, secret: a.admin.secret }) },
    });
    const body = expectG2pError(res, 422, 'G2P-REQ-002');
    expect(body.error_description).toContain('name');
  });

  it('OpenSPP V2: 422 problem+json', async () => {
    const res = await call(t.app, a.admin.token, 'GET', '/api/v2/spp/Individual?name=a%00b');
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors[0].field).toBe('name');
  });

  it('DCI: a NUL in header.message_id and a deep expression are refused in the DCI envelope', async () => {
    const dci = await a.client({ roles: ['integration'], scopes: ['dci:search'] });
    const nul = searchEnvelope([searchItem(expressionQuery({ a: 1 }))], { message_id: 'm\u0000x' });
    const res = await call(t.app, dci.token, 'POST', '/dci/registry/sync/search', nul);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().message.ack_status).toBe('ERR');
    expect(JSON.stringify(res.json().errors)).toContain('header.message_id');

    const text = JSON.stringify(searchEnvelope([searchItem(expressionQuery('__DEEP__'))])).replace(
      '"__DEEP__"',
      deepJson(5000),
    );
    const deep = await t.app.inject({
      method: 'POST',
      url: '/dci/registry/sync/search',
      headers: { authorization: `Bearer ${dci.token}`, 'content-type': 'application/json' },
      payload: text,
    });
    expect(deep.statusCode, deep.body).toBe(422);
    expect(deep.json().message.ack_status).toBe('ERR');
  });
});
