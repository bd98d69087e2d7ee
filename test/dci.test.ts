import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signEnvelope, verifyEnvelopeSignature } from '../src/faces/dci/signature.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import {
  dciPost,
  expectDciError,
  expressionQuery,
  idQuery,
  predicateQuery,
  SENDER,
  searchEnvelope,
  searchItem,
  txnStatusEnvelope,
} from './helpers/dci-client.js';
import { componentErrors, responseErrors } from './helpers/dci-openapi.js';
import { contractedIntegration } from './helpers/integration.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

const SYNC = '/dci/registry/sync/search';
const TXN = '/dci/registry/sync/txn/status';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let dci: { clientId: string; secret: string; token: string };
let health: string;
/** Persons of tenant a: consented unless named otherwise. */
const p: Record<string, { person_id: string; nid: string }> = {};

async function person(name: string, body: Record<string, unknown>, consent = true) {
  const number = nid();
  const created = await createPerson(t.app, a.admin.token, { identity_number: number, ...body });
  if (consent) await grantConsent(t.app, a.admin.token, created.person_id, health);
  p[name] = { person_id: created.person_id, nid: number };
}

const ids = (
  res: {
    json(): {
      message: {
        search_response: {
          data?: { reg_records: { identifier: { identifier_type: string; identifier_value: string }[] }[] };
        }[];
      };
    };
  },
  i = 0,
) =>
  (res.json().message.search_response[i].data?.reg_records ?? []).map(
    (r) => r.identifier.find((x) => x.identifier_type === 'HEARTH_PERSON_ID')!.identifier_value,
  );

beforeAll(async () => {
  t = await createTestApp({
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
    HEARTH_DCI_PARTICIPANT_ID: 'registry.example.org',
    HEARTH_DCI_MAX_RECORDS: '3',
    HEARTH_DCI_MAX_BATCH: '10',
  });
  // Identity numbers are personal (not sensitive) in this tenant, so an integration may look persons up by them.
  const settings = { field_classification: { 'identities.identity_number': 'personal' } };
  [a, b] = await Promise.all([createTestTenant(t, settings), createTestTenant(t, settings)]);
  health = a.verticals.HEALTH;
  dci = await contractedIntegration(t, a);
  await person('amina', {
    full_name: 'Amina Wanjiru',
    given_name: 'Amina',
    family_name: 'Wanjiru',
    gender: '2',
    date_of_birth: '1990-04-12',
  });
  await person('brian', {
    full_name: 'Brian Otieno',
    given_name: 'Brian',
    family_name: 'Otieno',
    gender: '1',
    date_of_birth: '2010-06-01',
  });
  await person('chebet', {
    full_name: 'Chebet Kiprop',
    given_name: 'Chebet',
    family_name: 'Kiprop',
    gender: '2',
    date_of_birth: '2005-01-20',
  });
  await person('david', {
    full_name: 'David Mwangi',
    given_name: 'David',
    family_name: 'Mwangi',
    gender: '1',
    date_of_birth: '1970-11-30',
  });
  // Registered, never consented: must never appear nor be counted.
  await person(
    'hidden',
    {
      full_name: 'Hidden Person',
      given_name: 'Hidden',
      family_name: 'Person',
      gender: '2',
      date_of_birth: '2008-02-02',
    },
    false,
  );
});
afterAll(() => t?.close());

describe('DCI token API and keys', () => {
  it('issues the same signed token for form or JSON credentials, with DCI scopes mapped', async () => {
    const form = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${dci.clientId}&client_secret=${dci.secret}&scope=registry.search`,
    });
    expect(form.statusCode, form.body).toBe(200);
    const tok = form.json();
    expect(tok.token_type).toBe('Bearer');
    expect(typeof tok.expires_in).toBe('string');
    expect(Number(tok.expires_in)).toBeGreaterThan(0);
    expect(form.headers['cache-control']).toBe('no-store');
    const json = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: dci.clientId,
        client_secret: dci.secret,
        scope: 'registry.subscribe',
      },
    });
    expect(json.statusCode).toBe(200);
    const res = await dciPost(
      t.app,
      json.json().access_token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))]),
    );
    expect(res.statusCode).toBe(200);
    // The key set is published at the DCI base URL too, with kty, kid, use and alg.
    const jwks = (await t.app.inject({ method: 'GET', url: '/dci/.well-known/jwks.json' })).json();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) for (const f of ['kty', 'kid', 'use', 'alg']) expect(k[f]).toBeTruthy();
  });

  it('refuses bad credentials, unknown grants and unknown scopes with DCI error bodies', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      payload: { grant_type: 'client_credentials', client_id: dci.clientId, client_secret: 'wrong-secret' },
    });
    expectDciError(bad, 401, 'err.request.unauthorized');
    expect(bad.json().error).toBe('invalid_client');
    const grant = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      payload: { grant_type: 'password' },
    });
    expectDciError(grant, 400, 'err.request.bad');
    const scope = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: dci.clientId,
        client_secret: dci.secret,
        scope: 'registry.notify',
      },
    });
    expectDciError(scope, 400, 'err.request.bad');
    expect(scope.json().error).toBe('invalid_scope');
  });

  it('documents form and JSON token bodies in GET /openapi.json, and validates both', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    const body = doc.paths['/dci/oauth2/client/token'].post.requestBody;
    expect(Object.keys(body.content).sort()).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
    for (const media of Object.values(body.content) as { schema: { $ref?: string; properties?: object } }[]) {
      const schema = media.schema.$ref
        ? doc.components.schemas[media.schema.$ref.split('/').pop() as string]
        : media.schema;
      expect(Object.keys(schema.properties)).toEqual(
        expect.arrayContaining(['grant_type', 'client_id', 'client_secret', 'scope']),
      );
    }
    // One body schema for both: a repeated form field parses to an array, which it refuses.
    const repeated = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${dci.clientId}&client_id=other&client_secret=${dci.secret}`,
    });
    expectDciError(repeated, 422, 'err.request.bad');
    const json = await t.app.inject({
      method: 'POST',
      url: '/dci/oauth2/client/token',
      payload: { grant_type: 'client_credentials', client_id: [dci.clientId], client_secret: dci.secret },
    });
    expectDciError(json, 422, 'err.request.bad');
  });
});

describe('DCI sync search', () => {
  it('idtype-value: a hit answers on-search with the record, a miss with none', async () => {
    const env = searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))]);
    const res = await dciPost(t.app, dci.token, SYNC, env);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.signature).toMatch(/^Signature: /);
    expect(body.header).toMatchObject({
      action: 'on-search',
      status: 'succ',
      total_count: 1,
      completed_count: 1,
      sender_id: 'registry.example.org',
      receiver_id: SENDER,
    });
    // Our header satisfies both header types of the contract.
    expect(componentErrors('MsgCallbackHeader_V1.0.0', body.header)).toEqual([]);
    expect(componentErrors('MsgHeader_V1.0.0', body.header)).toEqual([]);
    expect(body.message.transaction_id).toBe(env.message.transaction_id);
    expect(body.message.correlation_id).toBeTruthy();
    const item = body.message.search_response[0];
    expect(item).toMatchObject({
      reference_id: env.message.search_request[0].reference_id,
      status: 'succ',
      pagination: { page_number: 1, total_count: 1 },
    });
    expect(item.data.reg_record_type).toBe('SRPerson');
    const record = item.data.reg_records[0];
    expect(record.identifier).toContainEqual({ identifier_type: 'UIN', identifier_value: p.amina.nid });
    expect(record.identifier).toContainEqual({
      identifier_type: 'HEARTH_PERSON_ID',
      identifier_value: p.amina.person_id,
    });
    expect(record).toMatchObject({
      name: { given_name: 'Amina', surname: 'Wanjiru' },
      sex: 'female',
      birth_date: '1990-04-12',
    });
    expect(record.registration_date).toBeTruthy();

    const miss = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', 'NO-SUCH-NUMBER'))]),
    );
    expect(miss.statusCode).toBe(200);
    expect(miss.json().message.search_response[0]).toMatchObject({
      status: 'succ',
      pagination: { total_count: 0 },
    });
    expect(miss.json().message.search_response[0].data.reg_records).toEqual([]);
  });

  it('predicate: string values coerced by attribute type, and/or/not conditions, sort', async () => {
    const young = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery(
            [{ expression1: { attribute_name: 'age', operator: 'lt', attribute_value: '25' } }],
            {
              sort: [{ attribute_name: 'birth_date', sort_order: 'asc' }],
            },
          ),
        ),
      ]),
    );
    // Chebet (2005) before Brian (2010); the unconsented person of 2008 is neither listed nor counted.
    expect(ids(young)).toEqual([p.chebet.person_id, p.brian.person_id]);
    expect(young.json().message.search_response[0].pagination.total_count).toBe(2);

    const women = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery([
            {
              seq_num: 1,
              expression1: { attribute_name: 'sex', operator: 'eq', attribute_value: 'female' },
              condition: 'and',
              expression2: { attribute_name: 'birth_date', operator: 'lt', attribute_value: '2000-01-01' },
            },
          ]),
        ),
      ]),
    );
    expect(ids(women)).toEqual([p.amina.person_id]);

    const notMale = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery(
            [
              {
                expression1: { attribute_name: 'age', operator: 'ge', attribute_value: '18' },
                condition: 'not',
                expression2: { attribute_name: 'sex', operator: 'eq', attribute_value: 'male' },
              },
            ],
            { sort: [{ attribute_name: 'name', sort_order: 'desc' }] },
          ),
        ),
      ]),
    );
    expect(ids(notMale)).toEqual([p.chebet.person_id, p.amina.person_id]);
  });

  it('expression: the allow-listed Mongo-like subset', async () => {
    const adults = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(expressionQuery({ query: { $and: [{ sex: { $eq: 'male' } }, { age: { $gte: 18 } }] } })),
      ]),
    );
    expect(ids(adults)).toEqual([p.david.person_id]);
    const either = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          expressionQuery({
            collection: 'Member',
            query: { $or: [{ given_name: 'amina' }, { surname: { $in: ['Otieno', 'KIPROP'] } }] },
          }),
          { pagination: { page_size: 3 } },
        ),
      ]),
    );
    const found = ids(either);
    expect(found.sort()).toEqual([p.amina.person_id, p.brian.person_id, p.chebet.person_id].sort());
    // response_entity Member wraps each person as a DCI Member.
    const member = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(expressionQuery({ given_name: { $eq: 'David' } }, { response_entity: 'Member' })),
      ]),
    );
    const data = member.json().message.search_response[0].data;
    expect(data.reg_record_type).toBe('Member');
    expect(data.reg_records[0].member_identifier[0].identifier_value).toBe(p.david.person_id);
    expect(data.reg_records[0].demographic_info.sex).toBe('male');
  });

  it('pagination counts only visible persons; too many without pagination is rejected', async () => {
    const all = (pagination?: unknown) =>
      searchItem(
        predicateQuery([{ expression1: { attribute_name: 'age', operator: 'ge', attribute_value: '0' } }], {
          sort: [{ attribute_name: 'birth_date' }],
          ...(pagination ? { pagination } : {}),
        }),
      );
    const page2 = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([all({ page_size: 2, page_number: 2 })]),
    );
    expect(ids(page2)).toEqual([p.chebet.person_id, p.brian.person_id]);
    expect(page2.json().message.search_response[0].pagination).toEqual({
      page_size: 2,
      page_number: 2,
      total_count: 4,
    });
    const page1 = await dciPost(t.app, dci.token, SYNC, searchEnvelope([all({ page_size: 2 })]));
    expect(ids(page1)).toEqual([p.david.person_id, p.amina.person_id]);
    // Pagination beside search_criteria is read too.
    const beside = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([{ ...all(), pagination: { page_size: 1, page_number: 4 } }]),
    );
    expect(ids(beside)).toEqual([p.brian.person_id]);

    const unpaged = await dciPost(t.app, dci.token, SYNC, searchEnvelope([all()]));
    expect(unpaged.json().header.status).toBe('rjct');
    expect(unpaged.json().message.search_response[0]).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.search.too_many_records_found',
    });
    const big = await dciPost(t.app, dci.token, SYNC, searchEnvelope([all({ page_size: 4 })]));
    expect(big.json().message.search_response[0].status_reason_code).toBe('rjct.pagination.invalid');
  });

  it('a mixed batch: every item succeeds or is rejected with its own code', async () => {
    const good = searchItem(idQuery('UIN', p.brian.nid));
    const items = [
      good,
      searchItem(
        predicateQuery([
          { expression1: { attribute_name: 'shoe_size', operator: 'eq', attribute_value: '42' } },
        ]),
      ),
      searchItem(idQuery('UIN', p.brian.nid, { sort: [{ attribute_name: 'password' }] })),
      searchItem(idQuery('UIN', p.brian.nid, { pagination: { page_size: 2, page_number: 0 } })),
      { ...searchItem(idQuery('UIN', p.brian.nid)), reference_id: good.reference_id },
      searchItem(
        predicateQuery([{ expression1: { attribute_name: 'age', operator: 'lt', attribute_value: 'old' } }]),
      ),
      searchItem(expressionQuery({ age: { $where: 'sleep(10)' } })),
      { ...searchItem(idQuery('UIN', p.brian.nid)), reference_id: '' },
    ];
    const res = await dciPost(t.app, dci.token, SYNC, searchEnvelope(items));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.header).toMatchObject({ status: 'succ', total_count: 8, completed_count: 8 });
    const codes = body.message.search_response.map(
      (r: { status: string; status_reason_code?: string }) => r.status_reason_code ?? r.status,
    );
    expect(codes).toEqual([
      'succ',
      'rjct.search_criteria.invalid',
      'rjct.sort.invalid',
      'rjct.pagination.invalid',
      'rjct.reference_id.duplicate',
      'rjct.filter.invalid',
      'rjct.search_criteria.invalid',
      'rjct.reference_id.invalid',
    ]);
    expect(ids(res)).toEqual([p.brian.person_id]);

    // Items that break the contract's formats are rejected one by one as well.
    const bad = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        { ...searchItem(idQuery('UIN', p.brian.nid)), timestamp: '2024-01-15T10:30:00' },
        { ...searchItem(idQuery('UIN', p.brian.nid)), locale: 'en' },
        { ...searchItem(idQuery('UIN', p.brian.nid)), locale: 'eng' },
      ]),
      { invalidRequest: true },
    );
    expect(bad.statusCode).toBe(200);
    const rows = bad.json().message.search_response;
    expect(rows[0].status_reason_code).toBe('rjct.timestamp.invalid');
    expect(rows[1].status_reason_code).toBe('rjct.search_criteria.invalid');
    expect(rows[2]).toMatchObject({ status: 'succ', locale: 'eng' });
  });
});

describe('DCI envelope validation', () => {
  const refused = async (
    body: unknown,
    status: number,
    code: string,
    reason?: string,
    invalidRequest = true,
  ) => {
    const res = await dciPost(t.app, dci.token, SYNC, body, { invalidRequest });
    const out = expectDciError(res, status, code);
    if (reason) expect(out.header.status_reason_code).toBe(reason);
    expect(out.header.status).toBe('rjct');
    return out;
  };
  const ok = () => searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))]);

  it('message_ts needs a time zone; version, action, total_count and receiver_id are checked', async () => {
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { message_ts: '2024-01-15T10:30:00' }),
      422,
      'err.request.bad',
      'rjct.message_ts.invalid',
    );
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { message_ts: 'not-a-timestamp' }),
      422,
      'err.request.bad',
      'rjct.message_ts.invalid',
    );
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { version: '2.0.0' }),
      400,
      'err.version.not_supported',
      'rjct.version.invalid',
      false,
    );
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { action: 'subscribe' }),
      400,
      'err.request.bad',
      'rjct.action.invalid',
    );
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { total_count: 2 }),
      400,
      'err.request.bad',
      'rjct.total_count.invalid',
      false,
    );
    const eleven = Array.from({ length: 11 }, () => searchItem(idQuery('UIN', '1')));
    await refused(searchEnvelope(eleven), 400, 'err.request.bad', 'rjct.total_count.limit_exceeded', false);
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { receiver_id: 'someone.else' }),
      400,
      'err.receiver_id.invalid',
      undefined,
      false,
    );
    await refused(
      searchEnvelope([searchItem(idQuery('UIN', '1'))], { is_msg_encrypted: true }),
      400,
      'err.encryption.invalid',
      undefined,
      false,
    );
    // Our own id as receiver_id is fine.
    const mine = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))], { receiver_id: 'registry.example.org' }),
    );
    expect(mine.statusCode).toBe(200);
  });

  it('transaction_id is at most 99 characters; unknown fields and a missing header are refused', async () => {
    const at99 = ok();
    at99.message.transaction_id = 'x'.repeat(99);
    expect((await dciPost(t.app, dci.token, SYNC, at99)).statusCode).toBe(200);
    const at100 = ok();
    at100.message.transaction_id = 'x'.repeat(100);
    await refused(at100, 422, 'err.request.bad');
    await refused({ ...ok(), extra: 1 }, 422, 'err.request.bad', undefined, false);
    await refused({ message: ok().message }, 422, 'err.request.bad');
    const malformed = await t.app.inject({
      method: 'POST',
      url: SYNC,
      headers: { authorization: `Bearer ${dci.token}`, 'content-type': 'application/json' },
      payload: '{"header": ',
    });
    expectDciError(malformed, 400, 'err.request.bad');
    expect(responseErrors(SYNC, 400, malformed.json())).toEqual([]);
  });

  it('a message_id seen from the same sender within the replay window is refused', async () => {
    const env = ok();
    expect((await dciPost(t.app, dci.token, SYNC, env)).statusCode).toBe(200);
    await refused(env, 409, 'err.request.bad', 'rjct.message_id.duplicate', false);
    // Another sender may use the same message id.
    const other = structuredClone(env);
    other.header.sender_id = 'another.sender.org';
    expect((await dciPost(t.app, dci.token, SYNC, other)).statusCode).toBe(200);
  });

  it('no token → 401, a token without dci:search → 403, both as DCI errors', async () => {
    const none = await dciPost(t.app, null, SYNC, ok());
    expectDciError(none, 401, 'err.request.unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const registrar = await a.client({ roles: ['registrar'] });
    const res = await dciPost(t.app, registrar.token, SYNC, ok());
    expectDciError(res, 403, 'err.request.forbidden');
    expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    for (const path of [
      '/dci/registry/search',
      '/dci/registry/subscribe',
      '/dci/registry/unsubscribe',
      '/dci/registry/txn/status',
      TXN,
    ]) {
      const r = await t.app.inject({ method: 'POST', url: path, payload: {} });
      expectDciError(r, 401, 'err.request.unauthorized');
    }
  });
});

describe('DCI senders and envelope signatures', () => {
  it('verifies Ed25519 signatures of a sender whose policy requires them; signs what it answers', async () => {
    const signer = await a.client({ roles: ['integration'], scopes: ['dci:search'], name: 'signing-spmis' });
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
    const put = await call(t.app, a.admin.token, 'PUT', `/api/v1/dci/senders/${signer.clientId}`, {
      sender_id: 'signed.example.org',
      signature_required: true,
      public_key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: 'key-1' },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({
      sender_id: 'signed.example.org',
      signature_required: true,
      public_key_id: 'key-1',
    });
    // A policy requiring signatures needs a key; an unknown client is a 404; other tenants cannot register ours.
    const nokey = await call(t.app, a.admin.token, 'PUT', `/api/v1/dci/senders/${signer.clientId}`, {
      sender_id: 'signed.example.org',
      signature_required: true,
    });
    expect(nokey.statusCode).toBe(422);
    expect(
      (await call(t.app, b.admin.token, 'PUT', `/api/v1/dci/senders/${signer.clientId}`, { sender_id: 'x' }))
        .statusCode,
    ).toBe(404);
    expect((await call(t.app, dci.token, 'GET', `/api/v1/dci/senders/${signer.clientId}`)).statusCode).toBe(
      403,
    );

    const sign = (env: { header: unknown; message: unknown }) =>
      signEnvelope(env, { kid: 'key-1', privateKey, senderId: 'signed.example.org' });
    const env = searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))], {
      sender_id: 'signed.example.org',
    });
    const good = await dciPost(t.app, signer.token, SYNC, { ...env, signature: sign(env) });
    expect(good.statusCode, good.body).toBe(200);

    // Our answer is signed with a key of our published key set.
    const answer = good.json();
    const kid = /kidId="registry\.example\.org\|([^|]+)\|ed25519"/.exec(answer.signature)?.[1];
    const jwks = (await t.app.inject({ method: 'GET', url: '/dci/.well-known/jwks.json' })).json();
    const ours = jwks.keys.find((k: { kid: string }) => k.kid === kid);
    expect(ours).toBeTruthy();
    const key = createPublicKey({ key: ours, format: 'jwk' });
    expect(
      verifyEnvelopeSignature(answer.signature, answer, {
        senderId: 'registry.example.org',
        keyId: kid!,
        publicKey: key,
      }),
    ).toBeNull();

    const tampered = structuredClone(env);
    tampered.header.message_id = `${env.header.message_id}-2`;
    const signature = sign(tampered);
    tampered.message.search_request[0].search_criteria = idQuery('UIN', p.brian.nid);
    expectDciError(
      await dciPost(t.app, signer.token, SYNC, { ...tampered, signature }),
      400,
      'err.signature.invalid',
    );
    const unsigned = searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))], {
      sender_id: 'signed.example.org',
    });
    expectDciError(
      await dciPost(t.app, signer.token, SYNC, { ...unsigned, signature: '' }),
      400,
      'err.signature.missing',
    );
    const stub = searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))], {
      sender_id: 'signed.example.org',
    });
    expectDciError(await dciPost(t.app, signer.token, SYNC, stub), 400, 'err.signature.invalid');
    // A registered sender must use its own sender_id.
    const other = searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))]);
    expectDciError(
      await dciPost(t.app, signer.token, SYNC, { ...other, signature: sign(other) }),
      403,
      'err.sender_id.invalid',
    );
  });
});

describe('DCI sync transaction status', () => {
  it('finds a transaction by transaction_id, reference ids or correlation_id; an unknown one is a rejected item', async () => {
    const env = searchEnvelope([
      searchItem(idQuery('UIN', p.amina.nid)),
      searchItem(idQuery('UIN', p.brian.nid)),
    ]);
    const search = await dciPost(t.app, dci.token, SYNC, env);
    const correlation = search.json().message.correlation_id;
    const byTxn = await dciPost(
      t.app,
      dci.token,
      TXN,
      txnStatusEnvelope('transaction_id', env.message.transaction_id),
    );
    expect(byTxn.statusCode, byTxn.body).toBe(200);
    const body = byTxn.json();
    expect(body.header).toMatchObject({ action: 'txn-on-status', status: 'succ' });
    expect(body.message.txnstatus_response.txn_type).toBe('search');
    const status = body.message.txnstatus_response.txn_status;
    expect(status).toMatchObject({ transaction_id: env.message.transaction_id, correlation_id: correlation });
    expect(status.search_response).toHaveLength(2);
    expect(status.search_response[0].data.reg_records[0].identifier).toContainEqual({
      identifier_type: 'UIN',
      identifier_value: p.amina.nid,
    });

    const byRef = await dciPost(
      t.app,
      dci.token,
      TXN,
      txnStatusEnvelope('reference_id_list', [env.message.search_request[1].reference_id]),
    );
    const refItems = byRef.json().message.txnstatus_response.txn_status.search_response;
    expect(refItems.map((r: { reference_id: string }) => r.reference_id)).toEqual([
      env.message.search_request[1].reference_id,
    ]);
    const byCorrelation = await dciPost(
      t.app,
      dci.token,
      TXN,
      txnStatusEnvelope('correlation_id', correlation),
    );
    expect(byCorrelation.json().message.txnstatus_response.txn_status.transaction_id).toBe(
      env.message.transaction_id,
    );

    const unknown = await dciPost(t.app, dci.token, TXN, txnStatusEnvelope('transaction_id', 'never-sent'));
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json().message.txnstatus_response.txn_status.search_response[0]).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.reference_id.invalid',
    });
    // Another client of the same tenant does not see this client's transactions.
    const other = await a.client({ roles: ['integration'], scopes: ['dci:search'], name: 'other-spmis' });
    const theirs = await dciPost(
      t.app,
      other.token,
      TXN,
      txnStatusEnvelope('transaction_id', env.message.transaction_id),
    );
    expect(theirs.json().message.txnstatus_response.txn_status.search_response[0].status).toBe('rjct');
    // Validation: an over-long attribute value breaks the contract and is refused.
    const long = txnStatusEnvelope('transaction_id', 'y'.repeat(100));
    expectDciError(
      await dciPost(t.app, dci.token, TXN, long, { invalidRequest: true }),
      422,
      'err.request.bad',
    );
    const wrongAction = txnStatusEnvelope('transaction_id', 'x', 'search', { action: 'search' });
    expectDciError(
      await dciPost(t.app, dci.token, TXN, wrongAction, { invalidRequest: true }),
      400,
      'err.request.bad',
    );
  });
});

describe('DCI groups (households)', () => {
  it('Group records list and count only members the sender may see; households of unseen heads never appear', async () => {
    const area = await call(t.app, a.admin.token, 'POST', '/api/v1/geo-areas', {
      name: 'Nairobi',
      code: 'KE-NBO',
      level: 1,
    });
    expect(area.statusCode, area.body).toBe(201);
    const sub = await call(t.app, a.admin.token, 'POST', '/api/v1/geo-areas', {
      name: 'Kibera',
      code: 'KE-NBO-KIB',
      level: 2,
      parent_geo_id: area.json().geo_id,
    });
    expect(sub.statusCode, sub.body).toBe(201);
    const ext = await call(t.app, a.admin.token, 'POST', '/api/v1/extension-schemas', {
      name: 'pmt',
      applies_to: 'both',
      schema: { type: 'object', properties: { poverty_score: { type: 'number' } } },
    });
    expect(ext.statusCode, ext.body).toBe(201);
    const hh = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Wanjiru',
      leader_id: p.amina.person_id,
      geo_id: sub.json().geo_id,
      extensions: { pmt: { poverty_score: 3.2 } },
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const householdId = hh.json().household_id;
    for (const who of ['brian', 'hidden']) {
      const m = await call(t.app, a.admin.token, 'POST', `/api/v1/households/${householdId}/members`, {
        person_id: p[who].person_id,
        relationship_type: 'child',
        effective_from: '2020-01-01',
      });
      expect(m.statusCode, m.body).toBe(201);
    }
    // A household whose head has no consent.
    await person('ghost', { full_name: 'Ghost Head', gender: '1', date_of_birth: '1980-01-01' }, false);
    const hidden = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Ghost',
      leader_id: p.ghost.person_id,
      geo_id: sub.json().geo_id,
      extensions: { pmt: { poverty_score: 1 } },
    });
    expect(hidden.statusCode, hidden.body).toBe(201);

    const groups = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          expressionQuery({
            collection: 'Group',
            query: { $and: [{ location: 'KE-NBO' }, { poverty_score: { $lt: 5 } }] },
          }),
        ),
      ]),
    );
    const item = groups.json().message.search_response[0];
    expect(item).toMatchObject({ status: 'succ', pagination: { total_count: 1 } });
    expect(item.data.reg_record_type).toBe('Group');
    const g = item.data.reg_records[0];
    expect(g.group_identifier[0].identifier_value).toBe(householdId);
    expect(g).toMatchObject({
      group_type: '2',
      group_size: 2,
      poverty_score: 3.2,
      geographical_location: { name: 'Kibera' },
    });
    expect(g.group_head_info.member_identifier[0].identifier_value).toBe(p.amina.person_id);
    const members = g.member_list.map(
      (m: { member_identifier: { identifier_value: string }[] }) => m.member_identifier[0].identifier_value,
    );
    expect(members.sort()).toEqual([p.amina.person_id, p.brian.person_id].sort());
    const child = g.member_list.find(
      (m: { member_identifier: { identifier_value: string }[] }) =>
        m.member_identifier[0].identifier_value === p.brian.person_id,
    );
    expect(child.related_person[0]).toMatchObject({ relationship_type: 'CHILD' });

    // The unseen member is not counted by a group_size filter either.
    const size = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery(
            [{ expression1: { attribute_name: 'group_size', operator: 'ge', attribute_value: '3' } }],
            { response_entity: 'Group' },
          ),
        ),
      ]),
    );
    expect(size.json().message.search_response[0].pagination.total_count).toBe(0);
    const byMember = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.brian.nid, { response_entity: 'Group' }))]),
    );
    expect(
      byMember.json().message.search_response[0].data.reg_records[0].group_identifier[0].identifier_value,
    ).toBe(householdId);
    const byHidden = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.hidden.nid, { response_entity: 'Group' }))]),
    );
    expect(byHidden.json().message.search_response[0].pagination.total_count).toBe(0);
    // Person attributes do not apply to groups.
    const wrong = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(expressionQuery({ age: { $lt: 5 } }, { response_entity: 'Group' }))]),
    );
    expect(wrong.json().message.search_response[0].status_reason_code).toBe('rjct.search_criteria.invalid');
    // Members by location: their household's area, sub-areas included.
    const located = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery([
            { expression1: { attribute_name: 'location', operator: 'eq', attribute_value: 'KE-NBO' } },
          ]),
        ),
      ]),
    );
    expect(ids(located).sort()).toEqual([p.amina.person_id, p.brian.person_id].sort());
  });
});

describe('DCI consent and tenant isolation', () => {
  it('an unconsented person is never returned nor counted; another tenant sees nothing', async () => {
    const byId = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.hidden.nid))]),
    );
    expect(byId.json().message.search_response[0]).toMatchObject({
      status: 'succ',
      pagination: { total_count: 0 },
    });
    expect(byId.json().message.search_response[0].data.reg_records).toEqual([]);
    const girls = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([
        searchItem(expressionQuery({ $and: [{ sex: 'female' }, { birth_date: { $gte: '2000-01-01' } }] })),
      ]),
    );
    expect(ids(girls)).toEqual([p.chebet.person_id]);

    const other = await b.client({ roles: ['integration'], scopes: ['dci:search'] });
    const cross = await dciPost(
      t.app,
      other.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.amina.nid))]),
    );
    expect(cross.json().message.search_response[0].pagination.total_count).toBe(0);
    const crossTxn = await dciPost(
      t.app,
      other.token,
      TXN,
      txnStatusEnvelope('reference_id_list', ['anything']),
    );
    expect(crossTxn.json().message.txnstatus_response.txn_status.search_response[0].status).toBe('rjct');

    // Row-level security: a tenant transaction that forgets its tenant filter still sees only its rows.
    for (const table of ['dci_transactions', 'dci_messages']) {
      const seen = await t.db.transaction(
        (tx) => tx.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${table}`),
        { tenantId: b.tenantId },
      );
      expect(seen.rows.map((r) => r.tenant_id)).toEqual([b.tenantId]);
    }

    // A withdrawn consent takes the person out of every answer at once.
    await person('eve', {
      full_name: 'Eve Achieng',
      given_name: 'Eve',
      gender: '2',
      date_of_birth: '1999-09-09',
    });
    const seen = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.eve.nid))]),
    );
    expect(ids(seen)).toEqual([p.eve.person_id]);
    const consents = await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${p.eve.person_id}/consents`);
    const consentId = consents.json().data[0].consent_id;
    const w = await call(t.app, a.admin.token, 'POST', `/api/v1/consents/${consentId}/withdraw`, {
      reason_code: 'USER_REQUEST',
    });
    expect(w.statusCode, w.body).toBe(200);
    const gone = await dciPost(
      t.app,
      dci.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', p.eve.nid))]),
    );
    expect(gone.json().message.search_response[0].pagination.total_count).toBe(0);
  });

  it('a UIN is an exact identifier any sender may look up; records carry exactly the contract fields', async () => {
    const c = await createTestTenant(t);
    const number = nid();
    const created = await createPerson(t.app, c.admin.token, {
      identity_number: number,
      full_name: 'Faith Njeri',
      date_of_birth: '1995-05-05',
      birth_place: 'Nyeri',
      contacts: [
        { type: 'phone', value: '+254712345678' },
        { type: 'email', value: 'faith@example.org' },
      ],
    });
    await grantConsent(t.app, c.admin.token, created.person_id, c.verticals.HEALTH);
    const contracted = await contractedIntegration(t, c, ['full_name', 'date_of_birth', 'identities']);
    const lookup = await dciPost(
      t.app,
      contracted.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', number))]),
    );
    const record = lookup.json().message.search_response[0].data.reg_records[0];
    expect(record.identifier).toContainEqual({ identifier_type: 'UIN', identifier_value: number });
    expect(record.birth_date).toBe('1995-05-05');
    expect(record.phone_number).toBeUndefined();
    expect(record.email).toBeUndefined();
    expect(JSON.stringify(record)).not.toContain('Nyeri');
    // Masking is named in the DCI vocabulary.
    expect(record.additional_attributes).toContainEqual({
      name: 'masked_fields',
      value: expect.stringContaining('phone_number'),
    });
    // A sender without a contract finds the person by its UIN too, and sees its basic fields only;
    // a criterion on a field it never sees is refused.
    const client = await c.client({ roles: ['integration'], scopes: ['dci:search'] });
    const bare = await dciPost(
      t.app,
      client.token,
      SYNC,
      searchEnvelope([searchItem(idQuery('UIN', number))]),
    );
    const basic = bare.json().message.search_response[0].data.reg_records[0];
    expect(basic.identifier).toEqual([
      { identifier_type: 'HEARTH_PERSON_ID', identifier_value: created.person_id },
    ]);
    expect(basic.birth_date).toBeUndefined();
    expect(JSON.stringify(basic)).not.toContain(number.slice(-4));
    const byDate = await dciPost(
      t.app,
      client.token,
      SYNC,
      searchEnvelope([
        searchItem(
          predicateQuery([
            { expression1: { attribute_name: 'birth_date', operator: 'eq', attribute_value: '1995-05-05' } },
          ]),
        ),
      ]),
    );
    expect(byDate.json().message.search_response[0]).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.search_criteria.invalid',
    });
  });
});
