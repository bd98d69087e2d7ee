import { randomBytes } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPullService, PULL_FILE_JOB } from '../src/integrations/exchange-pull.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import {
  call,
  createTestTenant,
  type IssuedTestClient,
  type TestTenant,
  tokenFor,
} from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
const staff = new Map<string, { reviewer: IssuedTestClient; approver: IssuedTestClient }>();

const MAX_RECORDS = 20;
beforeAll(async () => {
  t = await createTestApp({
    HEARTH_EXCHANGE_MAX_BYTES: '65536',
    HEARTH_EXCHANGE_MAX_RECORDS: String(MAX_RECORDS),
  });
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();
const unique = (prefix: string) => `${prefix} ${randomBytes(4).toString('hex')}`;
const iurl = (id: string, rest = '') => `/api/v1/integrations/${id}${rest}`;

interface Live {
  id: string;
  clientId: string;
  secret: string;
  token: string;
  tenant: TestTenant;
}

async function act(tenantToken: string, id: string, action: string, body: unknown = {}) {
  const res = await call(t.app, tenantToken, 'POST', iurl(id, `/${action}`), body);
  expect(res.statusCode, `${action}: ${res.body}`).toBe(200);
  return res.json();
}

/** An active integration of the tenant (HEALTH and EDU) with its own client's token. */
async function liveIntegration(tenant: TestTenant = a): Promise<Live> {
  let s = staff.get(tenant.tenantId);
  if (!s) {
    s = {
      reviewer: await tenant.client({ roles: ['reviewer'] }),
      approver: await tenant.client({ roles: ['approver'] }),
    };
    staff.set(tenant.tenantId, s);
  }
  const created = await call(t.app, tenant.admin.token, 'POST', '/api/v1/integrations', {
    integration_name: unique('Partner'),
    partner_name: 'Ministry of Health',
    partner_type: 'government',
    vertical_ids: [tenant.verticals.HEALTH, tenant.verticals.EDU],
    active_from: hourAgo(),
  });
  expect(created.statusCode, created.body).toBe(201);
  const id: string = created.json().integration_id;
  await act(tenant.admin.token, id, 'request-review', { request_reason_code: 'ROUTINE_REVIEW' });
  await act(s.reviewer.token, id, 'review', { review_notes: 'ok' });
  await act(s.approver.token, id, 'approve', { approval_reason_code: 'ROUTINE_REVIEW' });
  const activated = await act(tenant.admin.token, id, 'activate');
  const token = await tokenFor(t.app, activated.auth_client_id, activated.client_secret);
  return { id, clientId: activated.auth_client_id, secret: activated.client_secret, token, tenant };
}

async function newContract(
  live: Live,
  overrides: Record<string, unknown> = {},
  activate = true,
): Promise<string> {
  const res = await call(t.app, live.tenant.admin.token, 'POST', iurl(live.id, '/contracts'), {
    purpose: 'Eligibility checks',
    data_categories: ['person', 'household'],
    field_list: [
      'full_name',
      'date_of_birth',
      'gender',
      'contacts',
      'identities',
      'household.household_name',
    ],
    consent_requirements: { vertical_ids: [live.tenant.verticals.HEALTH] },
    active_from: hourAgo(),
    ...overrides,
  });
  expect(res.statusCode, res.body).toBe(201);
  const contractId: string = res.json().contract_id;
  if (activate) {
    const on = await call(
      t.app,
      live.tenant.admin.token,
      'POST',
      iurl(live.id, `/contracts/${contractId}/activate`),
    );
    expect(on.statusCode, on.body).toBe(200);
  }
  return contractId;
}

function pull(live: Live, query: Record<string, string>, token = live.token) {
  return call(t.app, token, 'GET', `${iurl(live.id, '/data/pull')}?${new URLSearchParams(query)}`);
}

function push(
  live: Live,
  body: Record<string, unknown>,
  token = live.token,
  headers: Record<string, string> = {},
) {
  return call(t.app, token, 'POST', iurl(live.id, '/data/push'), body, headers);
}

async function exchangesOf(live: Live, query = '') {
  const res = await call(t.app, live.tenant.admin.token, 'GET', `${iurl(live.id, '/exchanges')}${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as Record<string, unknown>[];
}

const lastExchange = async (live: Live) => (await exchangesOf(live)).at(-1)!;

async function countPersons(tenant: TestTenant): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM persons WHERE tenant_id = $1',
    [tenant.tenantId],
  );
  return rows[0].n;
}

async function pushJobs(tenant: TestTenant): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND kind = 'exchange.push'`,
    [tenant.tenantId],
  );
  return rows[0].n;
}

/** A pulled `<record>` as the test's XML parser reads it. */
interface XmlRecord {
  full_name: string;
  date_of_birth: string;
  gender: string;
  contacts: { contact: { type: string; value: string }[] };
  address: unknown;
  household: { household_name: string; members: { member: { person_id: string }[] }; geo_lat?: unknown };
  masked_fields: { field: string[] };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (name) => ['record', 'contact', 'identity', 'field', 'member'].includes(name),
});

describe('pull', () => {
  let p: TestTenant;
  let live: Live;
  let contractId: string;
  const names = {
    ok: unique('Consented'),
    none: unique('NoConsent'),
    edu: unique('EduOnly'),
    grace: unique('Grace'),
  };
  let okId: string;
  let householdId: string;

  beforeAll(async () => {
    p = await createTestTenant(t);
    live = await liveIntegration(p);
    contractId = await newContract(live, {
      field_list: [
        'full_name',
        'date_of_birth',
        'gender',
        'contacts',
        'identities',
        'household.household_name',
        'household.members',
        'household.geo_lat',
      ],
    });
    const ok = await createPerson(t.app, p.admin.token, {
      full_name: names.ok,
      contacts: [{ type: 'phone', value: '+254712345678' }],
    });
    okId = ok.person_id;
    await grantConsent(t.app, p.admin.token, okId, p.verticals.HEALTH);
    const hh = await call(t.app, p.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Otieno household',
      leader_id: okId,
      geo_lat: -1.28,
      geo_lon: 36.82,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    householdId = hh.json().household_id;

    await createPerson(t.app, p.admin.token, { full_name: names.none });
    const edu = await createPerson(t.app, p.admin.token, { full_name: names.edu });
    await grantConsent(t.app, p.admin.token, edu.person_id, p.verticals.EDU);
    const grace = await createPerson(t.app, p.admin.token, { full_name: names.grace });
    await grantConsent(t.app, p.admin.token, grace.person_id, p.verticals.HEALTH);
    // Its consent ran out yesterday and is in its grace period: readable, never exportable.
    await t.db.query(
      `UPDATE consents SET active_from = now() - interval '30 days', active_until = now() - interval '1 day', grace_until = now() + interval '10 days'
        WHERE tenant_id = $1 AND person_id = $2`,
      [p.tenantId, grace.person_id],
    );
    const formula = await createPerson(t.app, p.admin.token, { full_name: '=HYPERLINK("http://evil")' });
    await grantConsent(t.app, p.admin.token, formula.person_id, p.verticals.HEALTH);
  });

  it('json: only persons meeting the consent requirements, cut to the field_list, masked', async () => {
    const res = await pull(live, { contract_id: contractId });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const body = res.json();
    expect(body).toMatchObject({ status: 'completed', next_cursor: null });
    expect(res.headers['x-exchange-id']).toBe(body.exchange_id);
    const byName = new Map(body.payload.map((r: { full_name: string }) => [r.full_name, r]));
    expect([...byName.keys()].sort()).toEqual(['=HYPERLINK("http://evil")', names.ok].sort());
    const rec = byName.get(names.ok) as Record<string, unknown>;
    expect(Object.keys(rec)).toEqual([
      'full_name',
      'date_of_birth',
      'gender',
      'contacts',
      'identities',
      'household',
      'masked_fields',
    ]);
    expect(rec.date_of_birth).toBe('1990-04-12');
    // The contract names contacts and identities: the integration receives them (decision 0012).
    const contacts = rec.contacts as { value: string }[];
    expect(contacts[0].value).toBe('+254712345678');
    const identities = rec.identities as { identity_number: string }[];
    expect(identities[0].identity_number).not.toContain('*');
    expect(rec.household).toEqual({
      household_name: 'Otieno household',
      members: [{ person_id: okId, relationship_type: expect.any(String) }],
      geo_lat: -1.28,
    });
    expect(rec.masked_fields).toEqual([]);

    const log = await call(t.app, p.admin.token, 'GET', iurl(live.id, `/exchanges/${body.exchange_id}`));
    expect(log.json()).toMatchObject({
      direction: 'pull',
      status: 'completed',
      format: 'json',
      contract_id: contractId,
      records_returned: 2,
      client_id: live.clientId,
      consent_checks: {
        purpose: 'export',
        grace_period_allowed: false,
        required_vertical_ids: [p.verticals.HEALTH],
      },
    });
    expect(householdId).toBeTruthy();
  });

  it('csv: RFC 4180 with a header, masked, formulas neutralised', async () => {
    const res = await pull(live, { contract_id: contractId, format: 'csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['x-exchange-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toContain('\r\n');
    const rows = parseCsv(res.body) as string[][];
    expect(rows[0]).toEqual([
      'full_name',
      'date_of_birth',
      'gender',
      'contacts',
      'identities',
      'household.household_name',
      'household.members',
      'household.geo_lat',
      'masked_fields',
    ]);
    expect(rows).toHaveLength(3);
    const ok = rows.find((r) => r[0] === names.ok)!;
    expect(ok[1]).toBe('1990-04-12');
    expect(JSON.parse(ok[3])[0].value).toBe('+254712345678');
    expect(ok[5]).toBe('Otieno household');
    expect(ok[7]).toBe("'-1.28");
    expect(ok[8]).toBe('');
    expect(rows.some((r) => r[0] === `'=HYPERLINK("http://evil")`)).toBe(true);
    for (const n of [names.none, names.edu, names.grace]) expect(res.body).not.toContain(n);
  });

  it('xml: well-formed, one record element per person, masked', async () => {
    const res = await pull(live, { contract_id: contractId, format: 'xml' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/xml');
    expect(XMLValidator.validate(res.body)).toBe(true);
    const doc = xml.parse(res.body);
    expect(doc.records['@_exchange_id']).toBe(res.headers['x-exchange-id']);
    const records = doc.records.record as Record<string, unknown>[];
    expect(records).toHaveLength(2);
    const ok = records.find((r) => r.full_name === names.ok) as unknown as XmlRecord;
    expect(ok.date_of_birth).toBe('1990-04-12');
    expect(ok.contacts.contact[0].value).toBe('+254712345678');
    expect(ok.household.household_name).toBe('Otieno household');
    expect(ok.household.members.member[0].person_id).toBe(okId);
    expect(String(ok.household.geo_lat)).toBe('-1.28');
    for (const n of [names.none, names.edu, names.grace]) expect(res.body).not.toContain(n);
  });

  it('pages with a cursor (body and X-Next-Cursor)', async () => {
    const first = await pull(live, { contract_id: contractId, limit: '1' });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.payload).toHaveLength(1);
    expect(page1.next_cursor).toEqual(expect.any(String));
    expect(first.headers['x-next-cursor']).toBe(page1.next_cursor);
    const second = await pull(live, { contract_id: contractId, limit: '1', cursor: page1.next_cursor });
    const page2 = second.json();
    expect(page2.payload).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
    expect(page2.payload[0].full_name).not.toBe(page1.payload[0].full_name);
    const csv = await pull(live, { contract_id: contractId, limit: '1', format: 'csv' });
    expect(csv.headers['x-next-cursor']).toBe(page1.next_cursor);
    const bad = await pull(live, { contract_id: contractId, cursor: 'nonsense' });
    expect(bad.statusCode).toBe(400);
  });

  it('filters: updated_since, status, vertical_id, geo_id', async () => {
    const future = await pull(live, {
      contract_id: contractId,
      updated_since: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(future.json().payload).toEqual([]);
    const verified = await pull(live, { contract_id: contractId, status: 'verified' });
    expect(verified.json().payload).toHaveLength(2);
    expect((await pull(live, { contract_id: contractId, status: 'provisional' })).json().payload).toEqual([]);
    const edu = await pull(live, { contract_id: contractId, vertical_id: p.verticals.EDU });
    expect(edu.json().payload).toEqual([]);
    const foreign = await pull(live, { contract_id: contractId, vertical_id: p.verticals.ECON });
    expect(foreign.statusCode).toBe(400);
    const noArea = await pull(live, {
      contract_id: contractId,
      geo_id: '0190a0c0-0000-7000-8000-000000000000',
    });
    expect(noArea.statusCode).toBe(422);
    const unknown = await pull(live, { contract_id: contractId, surprise: '1' });
    expect(unknown.statusCode).toBe(400);
    const failed = await exchangesOf(live, '?status=failed');
    expect(failed.map((e) => e.error)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'ERR_VAL_RULE_VIOLATION' }),
        expect.objectContaining({ code: 'ERR_VAL_INVALID_FORMAT' }),
      ]),
    );
  });

  it('a withdrawn consent removes the person from the next pull', async () => {
    const person = await createPerson(t.app, p.admin.token, { full_name: unique('Withdrawn') });
    const consent = await grantConsent(t.app, p.admin.token, person.person_id, p.verticals.HEALTH);
    const before = (await pull(live, { contract_id: contractId })).json().payload.length;
    const w = await call(t.app, p.admin.token, 'POST', `/api/v1/consents/${consent.consent_id}/withdraw`, {
      reason_code: 'USER_REQUEST',
    });
    expect(w.statusCode, w.body).toBe(200);
    const after = (await pull(live, { contract_id: contractId })).json().payload;
    expect(after).toHaveLength(before - 1);
  });
});

describe('pull: memberships and relationships', () => {
  let p: TestTenant;
  let live: Live;
  let contractId: string;
  const ids: Record<'mother' | 'child' | 'spouse' | 'ex', string> = {
    mother: '',
    child: '',
    spouse: '',
    ex: '',
  };
  let householdId: string;
  let motherOf: string;
  let spouseOf: string;
  const FIELDS = ['full_name', 'memberships', 'relationships'];
  const today = new Date().toISOString().slice(0, 10);

  async function relate(person: string, related: string, type: string) {
    const res = await call(t.app, p.admin.token, 'POST', '/api/v1/relationships', {
      person_id: person,
      related_person_id: related,
      relationship_type: type,
      effective_from: '2020-01-01',
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().relationship_id as string;
  }

  beforeAll(async () => {
    p = await createTestTenant(t);
    live = await liveIntegration(p);
    contractId = await newContract(live, {
      data_categories: ['person', 'membership', 'relationship'],
      field_list: FIELDS,
    });
    for (const who of ['mother', 'child', 'spouse', 'ex'] as const) {
      ids[who] = (await createPerson(t.app, p.admin.token, { full_name: unique(who) })).person_id;
    }
    // The spouse has no consent: it must not show through its relationship, not even its id.
    for (const who of ['mother', 'child', 'ex'] as const) {
      await grantConsent(t.app, p.admin.token, ids[who], p.verticals.HEALTH);
    }
    const hh = await call(t.app, p.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Links household',
      leader_id: ids.mother,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    householdId = hh.json().household_id;
    const member = await call(t.app, p.admin.token, 'POST', `/api/v1/households/${householdId}/members`, {
      person_id: ids.child,
      relationship_type: 'child',
      effective_from: today,
    });
    expect(member.statusCode, member.body).toBe(201);
    motherOf = await relate(ids.mother, ids.child, 'mother');
    spouseOf = await relate(ids.spouse, ids.mother, 'spouse');
    // An ended relationship is history, not exported.
    const ended = await relate(ids.ex, ids.mother, 'spouse');
    const end = await call(t.app, p.admin.token, 'POST', `/api/v1/relationships/${ended}/end`, {
      effective_until: today,
      reason_code: 'DATA_ERROR',
    });
    expect(end.statusCode, end.body).toBe(200);
  });

  const motherToChild = () => ({
    relationship_id: motherOf,
    person_id: ids.mother,
    related_person_id: ids.child,
    relationship_type: 'mother',
    effective_from: '2020-01-01',
    effective_until: null,
    verification_status: 'provisional',
  });

  it('a contract needs the category of each link field', async () => {
    for (const [field, category] of [
      ['memberships', 'membership'],
      ['relationships', 'relationship'],
    ]) {
      const res = await call(t.app, p.admin.token, 'POST', iurl(live.id, '/contracts'), {
        purpose: 'Links',
        data_categories: ['person'],
        field_list: ['full_name', field],
        consent_requirements: { vertical_ids: [p.verticals.HEALTH] },
        active_from: hourAgo(),
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().errors[0]).toMatchObject({ field: 'field_list[1]' });
      expect(res.json().errors[0].message).toContain(category);
    }
  });

  it('json: each person’s open memberships and active relationships, never the unconsented person', async () => {
    const res = await pull(live, { contract_id: contractId });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const byId = new Map<string, Record<string, unknown>>();
    const names = new Map<string, string>();
    for (const who of ['mother', 'child', 'ex'] as const) {
      const rec = body.payload.find((r: { full_name: string }) => r.full_name.startsWith(who));
      expect(rec, who).toBeTruthy();
      byId.set(ids[who], rec);
      names.set(who, rec.full_name);
    }
    expect(body.payload).toHaveLength(3);
    const mother = byId.get(ids.mother)!;
    expect(Object.keys(mother)).toEqual([...FIELDS, 'masked_fields']);
    expect(mother.memberships).toEqual([
      {
        membership_id: expect.any(String),
        household_id: householdId,
        relationship_type: 'head',
        effective_from: today,
        effective_until: null,
        verification_status: 'provisional',
      },
    ]);
    expect(mother.relationships).toEqual([motherToChild()]);
    expect(mother.masked_fields).toEqual([]);
    const child = byId.get(ids.child)!;
    expect(child.memberships).toMatchObject([{ household_id: householdId, relationship_type: 'child' }]);
    expect(child.relationships).toEqual([motherToChild()]);
    const ex = byId.get(ids.ex)!;
    expect(ex).toMatchObject({ memberships: [], relationships: [] });
    // Neither the spouse's id nor its relationship row leaves.
    expect(res.body).not.toContain(ids.spouse);
    expect(res.body).not.toContain(spouseOf);
  });

  it('csv: the lists as JSON text', async () => {
    const res = await pull(live, { contract_id: contractId, format: 'csv' });
    expect(res.statusCode, res.body).toBe(200);
    const rows = parseCsv(res.body) as string[][];
    expect(rows[0]).toEqual([...FIELDS, 'masked_fields']);
    expect(rows).toHaveLength(4);
    const mother = rows.find((r) => r[0].startsWith('mother'))!;
    expect(JSON.parse(mother[1])).toMatchObject([{ household_id: householdId, relationship_type: 'head' }]);
    expect(JSON.parse(mother[2])).toEqual([motherToChild()]);
    const child = rows.find((r) => r[0].startsWith('child'))!;
    expect(JSON.parse(child[1])).toMatchObject([{ household_id: householdId, relationship_type: 'child' }]);
    expect(JSON.parse(child[2])).toEqual([motherToChild()]);
    const ex = rows.find((r) => r[0].startsWith('ex'))!;
    expect([ex[1], ex[2]]).toEqual(['[]', '[]']);
    expect(res.body).not.toContain(ids.spouse);
  });

  it('xml: memberships/membership and relationships/relationship elements', async () => {
    const res = await pull(live, { contract_id: contractId, format: 'xml' });
    expect(res.statusCode, res.body).toBe(200);
    expect(XMLValidator.validate(res.body)).toBe(true);
    const parser = new XMLParser({
      ignoreAttributes: false,
      parseTagValue: false,
      isArray: (name) => ['record', 'membership', 'relationship', 'field'].includes(name),
    });
    interface LinkRecord {
      full_name: string;
      memberships: '' | { membership: Record<string, string>[] };
      relationships: '' | { relationship: Record<string, string>[] };
    }
    const records = parser.parse(res.body).records.record as LinkRecord[];
    const list = <K extends 'memberships' | 'relationships'>(r: LinkRecord, k: K) =>
      r[k] as Exclude<LinkRecord[K], ''>;
    expect(records).toHaveLength(3);
    const mother = records.find((r) => r.full_name.startsWith('mother'))!;
    expect(list(mother, 'memberships').membership).toEqual([
      expect.objectContaining({
        household_id: householdId,
        relationship_type: 'head',
        effective_from: today,
      }),
    ]);
    expect(list(mother, 'relationships').relationship).toEqual([
      expect.objectContaining({
        relationship_id: motherOf,
        person_id: ids.mother,
        related_person_id: ids.child,
        relationship_type: 'mother',
      }),
    ]);
    const child = records.find((r) => r.full_name.startsWith('child'))!;
    expect(list(child, 'relationships').relationship[0].relationship_id).toBe(motherOf);
    const ex = records.find((r) => r.full_name.startsWith('ex'))!;
    expect(ex.memberships).toBe('');
    expect(ex.relationships).toBe('');
    expect(res.body).not.toContain(ids.spouse);
  });

  it('links follow the contract, not the tenant classification (which governs staff)', async () => {
    const q = await createTestTenant(t, { field_classification: { relationships: 'sensitive' } });
    const l = await liveIntegration(q);
    const c = await newContract(l, {
      data_categories: ['person', 'membership', 'relationship'],
      field_list: FIELDS,
    });
    const [x, y] = [
      await createPerson(t.app, q.admin.token, { full_name: unique('X') }),
      await createPerson(t.app, q.admin.token, { full_name: unique('Y') }),
    ];
    for (const who of [x, y]) await grantConsent(t.app, q.admin.token, who.person_id, q.verticals.HEALTH);
    const rel = await call(t.app, q.admin.token, 'POST', '/api/v1/relationships', {
      person_id: x.person_id,
      related_person_id: y.person_id,
      relationship_type: 'parent',
      effective_from: '2020-01-01',
    });
    expect(rel.statusCode, rel.body).toBe(201);
    for (const format of ['json', 'csv', 'xml']) {
      const res = await pull(l, { contract_id: c, format });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body, format).toContain(rel.json().relationship_id);
    }
    const records = (await pull(l, { contract_id: c })).json().payload;
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(r.relationships).toHaveLength(1);
      expect(r.masked_fields).toEqual([]);
    }
  });

  it('a relationship to someone this pull would not return (archived, or short of the contract’s consents) stays out', async () => {
    // Two more persons with a HEALTH consent (the integration may see them), each a guardian of
    // the mother: one is then archived, the other lacks the EDU consent a second contract needs.
    const archived = (await createPerson(t.app, p.admin.token, { full_name: unique('archived') })).person_id;
    const healthOnly = (await createPerson(t.app, p.admin.token, { full_name: unique('healthonly') }))
      .person_id;
    for (const id of [archived, healthOnly]) await grantConsent(t.app, p.admin.token, id, p.verticals.HEALTH);
    const toArchived = await relate(archived, ids.mother, 'guardian');
    const toHealthOnly = await relate(healthOnly, ids.mother, 'guardian');
    const gone = await call(t.app, p.admin.token, 'POST', `/api/v1/persons/${archived}/archive`, {
      reason_code: 'DATA_ERROR',
    });
    expect(gone.statusCode, gone.body).toBe(200);
    const mother = async (contract: string) =>
      (await pull(live, { contract_id: contract }))
        .json()
        .payload.find((r: { full_name: string }) => r.full_name.startsWith('mother'));
    const health = (await mother(contractId)).relationships.map(
      (r: { relationship_id: string }) => r.relationship_id,
    );
    expect(health).toContain(toHealthOnly);
    expect(health).not.toContain(toArchived);
    // A contract that needs HEALTH and EDU: the mother qualifies (given EDU), the health-only guardian does not.
    await grantConsent(t.app, p.admin.token, ids.mother, p.verticals.EDU);
    const both = await newContract(live, {
      data_categories: ['person', 'membership', 'relationship'],
      field_list: FIELDS,
      consent_requirements: { vertical_ids: [p.verticals.HEALTH, p.verticals.EDU] },
    });
    const res = await pull(live, { contract_id: both });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toContain(toHealthOnly);
    expect(res.body).not.toContain(healthOnly);
    expect(res.body).not.toContain(archived);
  });
});

describe('pull delivered as a file (output_file_ref)', () => {
  let f: TestTenant;
  let live: Live;
  let contractId: string;
  const names: string[] = [];

  beforeAll(async () => {
    f = await createTestTenant(t);
    live = await liveIntegration(f);
    contractId = await newContract(live, {
      data_categories: ['person', 'household', 'membership', 'relationship'],
      field_list: ['full_name', 'date_of_birth', 'contacts', 'household.household_name', 'memberships'],
    });
    for (let i = 0; i < 3; i++) {
      const person = await createPerson(t.app, f.admin.token, {
        full_name: unique(`File ${i} ü`),
        contacts: [{ type: 'phone', value: `+25471234567${i}` }],
      });
      await grantConsent(t.app, f.admin.token, person.person_id, f.verticals.HEALTH);
      names.push(person.full_name as string);
    }
    await createPerson(t.app, f.admin.token, { full_name: unique('File unconsented') });
  });

  const output = (ref: string, token = live.token) => call(t.app, token, 'GET', ref);
  const exchange = async (id: string) => {
    const res = await call(t.app, live.token, 'GET', iurl(live.id, `/exchanges/${id}`));
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it.each(['json', 'csv', 'xml'])(
    '%s: 202 with output_file_ref, 409 until written, then the same body as a direct pull',
    async (format) => {
      const res = await pull(live, { contract_id: contractId, format, delivery: 'file' });
      expect(res.statusCode, res.body).toBe(202);
      const accepted = res.json();
      const ref = iurl(live.id, `/exchanges/${accepted.exchange_id}/output`);
      expect(accepted).toEqual({ exchange_id: expect.any(String), status: 'accepted', output_file_ref: ref });
      expect(res.headers.location).toBe(ref);

      const early = await output(ref);
      expect(early.statusCode).toBe(409);
      expect(early.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: 'accepted' });
      expect(await exchange(accepted.exchange_id)).toMatchObject({
        direction: 'pull',
        status: 'accepted',
        delivery: 'file',
        output_file_ref: ref,
      });

      await t.app.hearth.services.jobs.drain();
      const done = await exchange(accepted.exchange_id);
      expect(done).toMatchObject({
        status: 'completed',
        format,
        contract_id: contractId,
        records_returned: 3,
        output_file_ref: ref,
        client_id: live.clientId,
        consent_checks: { purpose: 'export', grace_period_allowed: false },
      });
      expect(done.output_bytes).toBeGreaterThan(0);
      expect(Date.parse(done.output_expires_at)).toBeGreaterThan(Date.now());

      const file = await output(ref);
      expect(file.statusCode, file.body).toBe(200);
      expect(file.headers['x-exchange-id']).toBe(accepted.exchange_id);
      expect(Number(file.headers['content-length'])).toBe(done.output_bytes);
      const direct = await pull(live, { contract_id: contractId, format, limit: '100000' });
      expect(direct.statusCode).toBe(200);
      expect(file.headers['content-type']).toBe(direct.headers['content-type']);
      for (const n of names) expect(file.body).toContain(n);
      expect(file.body).not.toContain('File unconsented');
      // The contract names contacts: they are exported as they are.
      expect(file.body).toContain('+254712345670');
      if (format === 'json') {
        const body = file.json();
        expect(body).toMatchObject({
          exchange_id: accepted.exchange_id,
          status: 'completed',
          next_cursor: null,
        });
        expect(body.payload).toEqual(direct.json().payload);
      } else if (format === 'csv') {
        expect(file.body).toBe(direct.body);
      } else {
        expect(XMLValidator.validate(file.body)).toBe(true);
        expect(file.body).toBe(
          direct.body.replace(direct.headers['x-exchange-id'] as string, accepted.exchange_id),
        );
      }
    },
  );

  it('one file pull at a time per integration: a second is refused (and logged) until the first is done', async () => {
    const first = await pull(live, { contract_id: contractId, delivery: 'file' });
    expect(first.statusCode, first.body).toBe(202);
    const second = await pull(live, { contract_id: contractId, format: 'csv', delivery: 'file' });
    expect(second.statusCode, second.body).toBe(409);
    expect(second.json()).toMatchObject({
      code: 'ERR_STATE_CONFLICT',
      exchange_id: first.json().exchange_id,
    });
    const refusals = (await call(t.app, live.token, 'GET', iurl(live.id, '/exchanges?status=failed'))).json()
      .data;
    expect(refusals.some((e: { error?: { code: string } }) => e.error?.code === 'ERR_STATE_CONFLICT')).toBe(
      true,
    );
    // An inline pull is not held back.
    expect((await pull(live, { contract_id: contractId })).statusCode).toBe(200);
    await t.app.hearth.services.jobs.drain();
    const third = await pull(live, { contract_id: contractId, delivery: 'file' });
    expect(third.statusCode, third.body).toBe(202);
    // A file pull whose job ended without closing it (the close failed) does not block forever:
    // the next request closes it as interrupted.
    await t.db.query(
      `UPDATE jobs SET status = 'failed', finished_at = now()
        WHERE kind = 'exchange.pull_file' AND payload->>'exchange_id' = $1`,
      [third.json().exchange_id],
    );
    const fourth = await pull(live, { contract_id: contractId, delivery: 'file' });
    expect(fourth.statusCode, fourth.body).toBe(202);
    expect(await exchange(third.json().exchange_id)).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_EXCHANGE_INTERRUPTED' },
    });
    await t.app.hearth.services.jobs.drain();
    expect((await exchange(fourth.json().exchange_id)).status).toBe('completed');
  });

  it('honours limit and cursor like a page: the same records and next_cursor as a direct pull', async () => {
    const direct = (await pull(live, { contract_id: contractId, limit: '2' })).json();
    const res = await pull(live, { contract_id: contractId, limit: '2', delivery: 'file' });
    expect(res.statusCode, res.body).toBe(202);
    await t.app.hearth.services.jobs.drain();
    const file = (await output(res.json().output_file_ref)).json();
    expect(file.payload).toEqual(direct.payload);
    expect(file.next_cursor).toBe(direct.next_cursor);
    expect((await exchange(res.json().exchange_id)).records_returned).toBe(2);
    const rest = await pull(live, { contract_id: contractId, cursor: direct.next_cursor, delivery: 'file' });
    await t.app.hearth.services.jobs.drain();
    const second = (await output(rest.json().output_file_ref)).json();
    expect(second.payload).toEqual(
      (await pull(live, { contract_id: contractId, cursor: direct.next_cursor })).json().payload,
    );
    expect(second.payload).toHaveLength(1);
  });

  it('only the same integration fetches the file', async () => {
    const res = await pull(live, { contract_id: contractId, format: 'csv', delivery: 'file' });
    await t.app.hearth.services.jobs.drain();
    const ref: string = res.json().output_file_ref;
    expect((await output(ref)).statusCode).toBe(200);
    const sibling = await liveIntegration(f);
    const other = await output(ref, sibling.token);
    expect(other.statusCode).toBe(403);
    expect(other.json().reason).toBe('not_integration_client');
    // Through its own integration's path: not a file pull of that integration.
    const swapped = await output(ref.replace(live.id, sibling.id), sibling.token);
    expect(swapped.statusCode).toBe(404);
    expect((await output(ref, f.admin.token)).statusCode).toBe(403);
    const foreign = await liveIntegration(b);
    expect((await output(ref, foreign.token)).statusCode).toBe(404);
    expect((await output(ref, null as unknown as string)).statusCode).toBe(401);
    // An inline pull has no output.
    const inline = await pull(live, { contract_id: contractId });
    expect((await output(iurl(live.id, `/exchanges/${inline.json().exchange_id}/output`))).statusCode).toBe(
      404,
    );
  }, 90_000);

  it('refused at once like an inline pull; refused later when the contract ends before the job runs', async () => {
    const draft = await newContract(live, {}, false);
    const now = await pull(live, { contract_id: draft, delivery: 'file' });
    expect(now.statusCode).toBe(409);
    expect(await lastExchange(live)).toMatchObject({ status: 'failed', contract_id: draft });

    const ending = await newContract(live);
    const res = await pull(live, { contract_id: ending, delivery: 'file' });
    expect(res.statusCode).toBe(202);
    await call(t.app, f.admin.token, 'POST', iurl(live.id, `/contracts/${ending}/archive`), {
      reason_code: 'CONTRACT_EXPIRED',
    });
    await t.app.hearth.services.jobs.drain();
    expect(await exchange(res.json().exchange_id)).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_STATE_CONFLICT' },
    });
    const out = await output(res.json().output_file_ref);
    expect(out.statusCode).toBe(409);
    expect(out.json().current_status).toBe('failed');
  });

  it('the file is stored in fixed slices and read back byte for byte (multi-byte characters split)', async () => {
    const services = t.app.hearth.services;
    // The same service with 7-byte slices: a name's "ü" is cut between two slices.
    const small = createPullService(t.db, {
      clientCache: services.clientCache,
      nudge: () => undefined,
      outputSliceBytes: 7,
    });
    const res = await pull(live, { contract_id: contractId, format: 'xml', delivery: 'file' });
    expect(res.statusCode, res.body).toBe(202);
    const id: string = res.json().exchange_id;
    const job = {
      id: '00000000-0000-4000-8000-00000000f11e', // no such job row: lock renewals touch nothing
      tenant_id: f.tenantId,
      kind: PULL_FILE_JOB,
      payload: { exchange_id: id, integration_id: live.id },
      status: 'running' as const,
      run_at: new Date(),
      attempts: 1,
      max_attempts: 5,
      last_error: null,
    };
    // Two attempts at once (a lock that expired under a slow writer): the later one takes the
    // exchange over, the earlier one stops at its next write; one whole file results.
    await Promise.all([small.runFile(job), small.runFile({ ...job, attempts: 2 })]);
    await services.jobs.drain(); // the queued job finds the exchange completed and does nothing
    const { rows } = await t.db.query<{ chunk_no: number; size: number }>(
      `SELECT chunk_no, length(data) AS size FROM integration_exchange_outputs
        WHERE tenant_id = $1 AND exchange_id = $2 ORDER BY chunk_no`,
      [f.tenantId, id],
    );
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.slice(0, -1).every((r) => Number(r.size) === 7)).toBe(true);
    const done = await exchange(id);
    expect(done).toMatchObject({ status: 'completed', records_returned: 3 });
    const file = await output(res.json().output_file_ref);
    expect(file.statusCode).toBe(200);
    expect(Buffer.byteLength(file.body)).toBe(done.output_bytes);
    const direct = await pull(live, { contract_id: contractId, format: 'xml', limit: '100000' });
    expect(file.body).toBe(direct.body.replace(direct.headers['x-exchange-id'] as string, id));
    expect(file.body).toContain('ü');
  });

  it('an expired output answers 410 and is deleted by the retention sweep', async () => {
    const res = await pull(live, { contract_id: contractId, delivery: 'file' });
    await t.app.hearth.services.jobs.drain();
    const id: string = res.json().exchange_id;
    const chunks = async () =>
      (
        await t.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM integration_exchange_outputs WHERE tenant_id = $1 AND exchange_id = $2',
          [f.tenantId, id],
        )
      ).rows[0].n;
    expect(await chunks()).toBeGreaterThan(0);
    await t.db.query(
      `UPDATE integration_exchanges SET output_expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id = $2`,
      [f.tenantId, id],
    );
    expect((await output(res.json().output_file_ref)).statusCode).toBe(410);
    expect(await t.app.hearth.services.exchanges.purgeExpiredOutputs()).toBeGreaterThanOrEqual(1);
    expect(await chunks()).toBe(0);
    expect((await output(res.json().output_file_ref)).statusCode).toBe(410);
  });

  it('a consent withdrawn after the file was written withholds the file (410): the partner pulls again', async () => {
    const person = await createPerson(t.app, f.admin.token, { full_name: unique('Later withdrawn') });
    const consent = await grantConsent(t.app, f.admin.token, person.person_id, f.verticals.HEALTH);
    const outsider = await createPerson(t.app, f.admin.token, { full_name: unique('Never in the file') });
    const res = await pull(live, { contract_id: contractId, format: 'csv', delivery: 'file' });
    expect(res.statusCode, res.body).toBe(202);
    await t.app.hearth.services.jobs.drain();
    const ref = res.json().output_file_ref;
    expect((await output(ref)).body).toContain('Later withdrawn');
    // A change to someone who is not in the file does not matter.
    const other = await grantConsent(t.app, f.admin.token, outsider.person_id, f.verticals.HEALTH);
    await call(t.app, f.admin.token, 'POST', `/api/v1/consents/${other.consent_id}/withdraw`, {
      reason_code: 'USER_REQUEST',
    });
    expect((await output(ref)).statusCode).toBe(200);
    const w = await call(t.app, f.admin.token, 'POST', `/api/v1/consents/${consent.consent_id}/withdraw`, {
      reason_code: 'USER_REQUEST',
    });
    expect(w.statusCode, w.body).toBe(200);
    const gone = await output(ref);
    expect(gone.statusCode, gone.body).toBe(410);
    expect(gone.json()).toMatchObject({ reason: 'consent_changed' });
    expect(gone.body).not.toContain('Later withdrawn');
    // Pulling again leaves the person out.
    const again = await pull(live, { contract_id: contractId, format: 'csv', delivery: 'file' });
    await t.app.hearth.services.jobs.drain();
    const file = await output(again.json().output_file_ref);
    expect(file.statusCode).toBe(200);
    expect(file.body).not.toContain('Later withdrawn');
  });
});

describe('refusals: contract, caller and integration status, each logged', () => {
  let live: Live;
  let contractId: string;
  beforeAll(async () => {
    live = await liveIntegration();
    contractId = await newContract(live);
  });

  it('no token → 401; a token without the scope → 403; another tenant → 404 and nothing logged', async () => {
    expect((await pull(live, { contract_id: contractId }, null as unknown as string)).statusCode).toBe(401);
    const registrar = await a.client({ roles: ['registrar'] });
    const noScope = await pull(live, { contract_id: contractId }, registrar.token);
    expect(noScope.statusCode).toBe(403);
    expect(noScope.json().code).toBe('ERR_SEC_FORBIDDEN');
    // A caller of this tenant refused by scope is still logged.
    expect(await lastExchange(live)).toMatchObject({ status: 'failed', client_id: registrar.clientId });
    const before = (await exchangesOf(live)).length;
    const foreign = await liveIntegration(b);
    const cross = await pull(live, { contract_id: contractId }, foreign.token);
    expect(cross.statusCode).toBe(404);
    const crossPush = await push(
      live,
      { contract_id: contractId, format: 'json', payload: [{}] },
      foreign.token,
    );
    expect(crossPush.statusCode).toBe(404);
    // Another tenant's caller leaves nothing in this tenant, nor in its own.
    const after = await exchangesOf(live);
    expect(after.length).toBe(before);
    const theirs = await exchangesOf(foreign);
    expect(theirs).toEqual([]);
  });

  it('staff and ROOT may not exchange through an integration: 403, logged', async () => {
    const res = await pull(live, { contract_id: contractId }, a.admin.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ERR_SEC_FORBIDDEN', reason: 'not_integration_client' });
    const logged = await lastExchange(live);
    expect(logged).toMatchObject({
      direction: 'pull',
      status: 'failed',
      client_id: a.admin.clientId,
      contract_id: contractId,
      error: { code: 'ERR_SEC_FORBIDDEN' },
    });
  });

  it('a draft, an archived or another integration’s contract is refused and logged', async () => {
    const draft = await newContract(live, {}, false);
    const d = await pull(live, { contract_id: draft });
    expect(d.statusCode).toBe(409);
    expect(d.json()).toMatchObject({ code: 'ERR_STATE_CONFLICT', current_status: 'draft' });
    expect(await lastExchange(live)).toMatchObject({
      status: 'failed',
      contract_id: draft,
      error: { code: 'ERR_STATE_CONFLICT' },
    });

    const dp = await push(live, {
      contract_id: draft,
      format: 'json',
      payload: [{ identity_type: 'national_id' }],
    });
    expect(dp.statusCode).toBe(409);
    expect(await lastExchange(live)).toMatchObject({ direction: 'push', status: 'failed', format: 'json' });

    const other = await liveIntegration();
    const theirs = await newContract(other);
    const o = await pull(live, { contract_id: theirs });
    expect(o.statusCode).toBe(403);
    expect(o.json().reason).toBe('contract_not_of_integration');
    expect(await lastExchange(live)).toMatchObject({ contract_id: null, requested_contract_id: theirs });

    const ended = await newContract(live);
    await call(t.app, a.admin.token, 'POST', iurl(live.id, `/contracts/${ended}/archive`), {
      reason_code: 'CONTRACT_EXPIRED',
    });
    const e = await pull(live, { contract_id: ended, format: 'csv' });
    expect(e.statusCode).toBe(409);
    expect(e.headers['content-type']).toContain('application/problem+json');
    expect(await lastExchange(live)).toMatchObject({ status: 'failed', format: 'csv', contract_id: ended });
  });

  it('restricted: pulls allowed, pushes refused; suspended: its token refused at once, still logged', async () => {
    const r = await liveIntegration();
    const c = await newContract(r);
    await act(a.admin.token, r.id, 'restrict', { reason_code: 'PARTNER_REQUEST' });
    expect((await pull(r, { contract_id: c })).statusCode).toBe(200);
    const refused = await push(r, {
      contract_id: c,
      format: 'json',
      payload: [{ identity_type: 'national_id', identity_number: nid(), full_name: 'X' }],
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().current_status).toBe('restricted');
    expect(await lastExchange(r)).toMatchObject({ direction: 'push', status: 'failed' });

    await act(a.admin.token, r.id, 'suspend', { reason_code: 'SECURITY_INCIDENT' });
    const res = await pull(r, { contract_id: c });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('ERR_AUTH_INVALID');
    expect(await lastExchange(r)).toMatchObject({
      direction: 'pull',
      status: 'failed',
      client_id: r.clientId,
      contract_id: c,
      error: { code: 'ERR_AUTH_INVALID' },
    });
    const personsBefore = await countPersons(a);
    const p = await push(r, {
      contract_id: c,
      format: 'json',
      payload: [{ identity_type: 'national_id', identity_number: nid(), full_name: 'X' }],
    });
    expect(p.statusCode).toBe(401);
    expect(await countPersons(a)).toBe(personsBefore);
    expect(await lastExchange(r)).toMatchObject({ direction: 'push', status: 'failed' });
  });

  it('refusals are audited', async () => {
    const { rows } = await t.db.query<{ action: string; outcome: string }>(
      `SELECT action, outcome FROM audit_events WHERE tenant_id = $1 AND action LIKE 'exchange.%.refused'`,
      [a.tenantId],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.outcome)).toContain('denied');
  });
});

describe('push', () => {
  let live: Live;
  let contractId: string;
  const FIELDS = ['full_name', 'given_name', 'date_of_birth', 'gender', 'contacts', 'address', 'person_id'];
  beforeAll(async () => {
    live = await liveIntegration();
    contractId = await newContract(live, { data_categories: ['person'], field_list: FIELDS });
  });

  async function drain() {
    await t.app.hearth.services.jobs.drain();
  }

  async function exchange(id: string, query = '') {
    const res = await call(t.app, live.token, 'GET', iurl(live.id, `/exchanges/${id}${query}`));
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  it('json: updates consented persons by identity, creates nobody, rejects fields outside the contract per record', async () => {
    const existingNid = nid();
    const existing = await createPerson(t.app, a.admin.token, {
      identity_number: existingNid,
      full_name: 'Old Name',
    });
    await grantConsent(t.app, a.admin.token, existing.person_id, a.verticals.HEALTH);
    const unconsentedNid = nid();
    await createPerson(t.app, a.admin.token, { identity_number: unconsentedNid });
    const newNid = nid();
    const res = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [
        {
          identity_type: 'national_id',
          identity_number: newNid,
          full_name: 'Pushed Person',
          date_of_birth: '1985-02-03',
          gender: '1',
          contacts: [{ type: 'phone', value: '+254700000001' }],
        },
        { identity_type: 'national_id', identity_number: existingNid, given_name: 'Renamed' },
        {
          identity_type: 'national_id',
          identity_number: nid(),
          full_name: 'X',
          gender: '1',
          date_of_birth: '1990-01-01',
          household_id: existing.person_id,
        },
        {
          identity_type: 'national_id',
          identity_number: nid(),
          full_name: 'Y',
          gender: '1',
          date_of_birth: '1990-01-01',
          person_id: existing.person_id,
        },
        { full_name: 'no identity' },
        { identity_type: 'national_id', identity_number: unconsentedNid, given_name: 'Sneaky' },
        {
          identity_type: 'national_id',
          identity_number: nid(),
          full_name: 'Bad',
          gender: '1',
          date_of_birth: 'not-a-date',
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    const accepted = res.json();
    expect(accepted).toMatchObject({
      status: 'accepted',
      exchange_id: expect.any(String),
      received_at: expect.any(String),
    });
    expect((await exchange(accepted.exchange_id)).status).toBe('accepted');

    await drain();
    const done = await exchange(accepted.exchange_id);
    expect(done).toMatchObject({
      direction: 'push',
      status: 'completed',
      records_received: 7,
      records_created: 0,
      records_updated: 1,
      records_rejected: 6,
    });
    const results = done.results.data;
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'rejected',
      'updated',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(results[2].errors[0]).toMatchObject({
      field: 'household_id',
      message: expect.stringContaining('field_list'),
    });
    expect(results[3].errors[0]).toMatchObject({
      field: 'person_id',
      message: expect.stringContaining('cannot be written'),
    });
    expect(results[4].errors.map((e: { field: string }) => e.field)).toEqual([
      'identity_type',
      'identity_number',
    ]);
    // An unused identity and one held by an unconsented person get one and the same answer.
    expect(results[0].errors).toEqual([
      expect.objectContaining({ field: 'identity_number', code: 'ERR_NOT_FOUND' }),
    ]);
    expect(results[5].errors).toEqual(results[0].errors);
    expect(results[6].errors[0].field).toBe('date_of_birth');
    const none = await t.db.query('SELECT 1 FROM persons WHERE full_name = $1 AND tenant_id = $2', [
      'Pushed Person',
      a.tenantId,
    ]);
    expect(none.rowCount).toBe(0);
    const updated = await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${existing.person_id}`);
    expect(updated.json()).toMatchObject({
      given_name: 'Renamed',
      full_name: 'Old Name',
      provenance: { updated_by: live.clientId, last_update_system: `integration:${live.id}` },
    });
    expect(results[1]).toMatchObject({
      person_id: existing.person_id,
      version_id: updated.json().version_id,
    });

    const rejectedOnly = await exchange(accepted.exchange_id, '?outcome=rejected&results_limit=2');
    expect(rejectedOnly.results.data).toHaveLength(2);
    expect(rejectedOnly.results.next_cursor).toEqual(expect.any(String));
    const rest = await exchange(
      accepted.exchange_id,
      `?outcome=rejected&results_limit=10&results_cursor=${rejectedOnly.results.next_cursor}`,
    );
    expect(rest.results.data.map((r: { record: number }) => r.record)).toEqual([4, 5, 6, 7]);

    const { rows } = await t.db.query<{ data: Record<string, unknown> }>(
      `SELECT data FROM outbox_events WHERE tenant_id = $1 AND type = 'exchange.completed' AND resource_id = $2`,
      [a.tenantId, accepted.exchange_id],
    );
    expect(rows[0].data).toMatchObject({ integration_id: live.id, direction: 'push', records_updated: 1 });
    // Inputs are not kept once processed.
    const inputs = await t.db.query(
      'SELECT 1 FROM integration_exchange_records WHERE exchange_id = $1 AND input IS NOT NULL',
      [accepted.exchange_id],
    );
    expect(inputs.rowCount).toBe(0);
  });

  it('an identity held only by an archived person is rejected like any other, not re-created', async () => {
    const id = nid();
    const archived = await createPerson(t.app, a.admin.token, { identity_number: id });
    const off = await call(t.app, a.admin.token, 'POST', `/api/v1/persons/${archived.person_id}/archive`, {
      reason_code: 'DUPLICATE_RECORD',
    });
    expect(off.statusCode, off.body).toBe(200);
    const persons = await countPersons(a);
    const res = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [
        {
          identity_type: 'national_id',
          identity_number: id,
          full_name: 'Back',
          gender: '1',
          date_of_birth: '1980-01-01',
        },
      ],
    });
    await drain();
    const done = await exchange(res.json().exchange_id);
    expect(done.results.data[0]).toMatchObject({
      outcome: 'rejected',
      errors: [{ field: 'identity_number', code: 'ERR_NOT_FOUND' }],
    });
    expect(await countPersons(a)).toBe(persons);
  });

  it('no existence oracle: an unused identity and a hidden person are answered alike, and nobody is created', async () => {
    const hidden = nid();
    await createPerson(t.app, a.admin.token, { identity_number: hidden });
    const unused = nid();
    const persons = await countPersons(a);
    const partial = (n: string) => ({ identity_type: 'national_id', identity_number: n, full_name: 'Probe' });
    const complete = (n: string) => ({ ...partial(n), gender: '1', date_of_birth: '1990-01-01' });
    const res = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [partial(hidden), partial(unused), complete(hidden), complete(unused)],
    });
    expect(res.statusCode, res.body).toBe(202);
    await drain();
    const done = await exchange(res.json().exchange_id);
    const answers = done.results.data.map((r: { outcome: string; errors: unknown }) => ({
      outcome: r.outcome,
      errors: r.errors,
    }));
    expect(answers[0].outcome).toBe('rejected');
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await countPersons(a)).toBe(persons);
  });

  /** Consented persons holding these identities (a push only updates). */
  async function consented(...ids: string[]) {
    for (const id of ids) {
      const p = await createPerson(t.app, a.admin.token, { identity_number: id });
      await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    }
  }

  it('csv round trip: pushed rows read back the same through a pull', async () => {
    const ids = [nid(), nid()];
    await consented(...ids);
    const csv = [
      'identity_type,identity_number,full_name,date_of_birth,gender,address',
      `national_id,${ids[0]},"Wanjiru, Amina",1991-05-06,2,"{""city"":""Nairobi""}"`,
      `national_id,${ids[1]},"Quote ""Q"" Person",1970-12-31,1,`,
    ].join('\r\n');
    const res = await push(live, { contract_id: contractId, format: 'csv', payload: csv });
    expect(res.statusCode, res.body).toBe(202);
    await drain();
    const done = await exchange(res.json().exchange_id);
    expect(done).toMatchObject({
      status: 'completed',
      format: 'csv',
      records_updated: 2,
      records_rejected: 0,
    });

    const pulled = await pull(live, { contract_id: contractId, format: 'csv', limit: '100000' });
    const rows = parseCsv(pulled.body, { columns: true }) as Record<string, string>[];
    const first = rows.find((r) => r.full_name === 'Wanjiru, Amina')!;
    expect(first).toMatchObject({ date_of_birth: '1991-05-06', gender: '2' });
    expect(JSON.parse(first.address)).toEqual({ city: 'Nairobi' });
    const second = rows.find((r) => r.full_name === 'Quote "Q" Person')!;
    expect(second).toMatchObject({ date_of_birth: '1970-12-31', gender: '1', address: '' });
  });

  it('xml round trip: pushed records read back the same through a pull', async () => {
    const id = nid();
    await consented(id);
    const payload = `<?xml version="1.0" encoding="UTF-8"?>
<records>
  <record>
    <identity_type>national_id</identity_type>
    <identity_number>${id}</identity_number>
    <full_name>Achieng &amp; Sons &#x2713;</full_name>
    <date_of_birth>1988-08-08</date_of_birth>
    <gender>2</gender>
    <contacts><contact><type>email</type><value>achieng@example.org</value><primary>true</primary></contact></contacts>
    <address><line>Plot 7</line><line>Kisumu Road</line><city>Kisumu</city></address>
  </record>
</records>`;
    const res = await push(live, { contract_id: contractId, format: 'xml', payload });
    expect(res.statusCode, res.body).toBe(202);
    await drain();
    const done = await exchange(res.json().exchange_id);
    expect(done, JSON.stringify(done.results)).toMatchObject({ status: 'completed', records_updated: 1 });

    const pulled = await pull(live, { contract_id: contractId, format: 'xml', limit: '100000' });
    expect(XMLValidator.validate(pulled.body)).toBe(true);
    const rec = (xml.parse(pulled.body).records.record as XmlRecord[]).find(
      (r) => r.full_name === 'Achieng & Sons ✓',
    )!;
    expect(rec).toMatchObject({ date_of_birth: '1988-08-08', gender: '2' });
    expect(rec.address).toEqual({ line: ['Plot 7', 'Kisumu Road'], city: 'Kisumu' });
    // The contract names contacts: the integration reads back what it pushed.
    expect(rec.contacts.contact[0].value).not.toContain('*');
    const admin = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/persons/${done.results.data[0].person_id}`,
    );
    expect(admin.json().contacts[0]).toMatchObject({
      type: 'email',
      value: 'achieng@example.org',
      primary: true,
    });
  });
});

describe('push: CDATA follows XML’s own rules', () => {
  it('a CDATA section that merely contains <!DOCTYPE is data, stored as written', async () => {
    const live = await liveIntegration();
    const contractId = await newContract(live, { data_categories: ['person'], field_list: ['full_name'] });
    const id = nid();
    const p = await createPerson(t.app, a.admin.token, { identity_number: id });
    await grantConsent(t.app, a.admin.token, p.person_id, a.verticals.HEALTH);
    const payload = `<records><record><identity_type>national_id</identity_type><identity_number>${id}</identity_number><full_name><![CDATA[A <!DOCTYPE x> & <b>]]></full_name></record></records>`;
    const res = await push(live, { contract_id: contractId, format: 'xml', payload });
    expect(res.statusCode, res.body).toBe(202);
    await t.app.hearth.services.jobs.drain();
    const stored = await t.db.query<{ full_name: string }>('SELECT full_name FROM persons WHERE id = $1', [
      p.person_id,
    ]);
    expect(stored.rows[0].full_name).toBe('A <!DOCTYPE x> & <b>');
  });
});

describe('push input refused with nothing written', () => {
  let live: Live;
  let contractId: string;
  beforeAll(async () => {
    live = await liveIntegration();
    contractId = await newContract(live, {
      data_categories: ['person'],
      field_list: ['full_name', 'gender'],
    });
  });

  const XXE = `<?xml version="1.0"?>
<!DOCTYPE records [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<records><record><identity_type>national_id</identity_type><identity_number>1</identity_number><full_name>&xxe;</full_name></record></records>`;
  const LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<records><record><full_name>&lol2;</full_name></record></records>`;

  const cases: [string, Record<string, unknown>, number, string][] = [
    ['XXE (external entity)', { format: 'xml', payload: XXE }, 422, 'ERR_VAL_INVALID_FORMAT'],
    ['billion laughs', { format: 'xml', payload: LAUGHS }, 422, 'ERR_VAL_INVALID_FORMAT'],
    [
      'undeclared entity',
      { format: 'xml', payload: '<records><record><full_name>&nbsp;</full_name></record></records>' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'a DOCTYPE inside the document',
      {
        format: 'xml',
        payload:
          '<records><!DOCTYPE x [<!ENTITY a "b">]><record><full_name>&a;</full_name></record></records>',
      },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'XML not well-formed',
      { format: 'xml', payload: '<records><record><full_name>x</record></records>' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'XML with another root',
      { format: 'xml', payload: '<people><record/></people>' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'XML record holding text',
      { format: 'xml', payload: '<records><record>text</record></records>' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'CSV with an unclosed quote',
      { format: 'csv', payload: 'identity_type,full_name\r\nnational_id,"open' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'CSV with a short row',
      { format: 'csv', payload: 'identity_type,identity_number,full_name\r\nnational_id,1\r\n' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'CSV with a repeated column',
      { format: 'csv', payload: 'full_name,full_name\r\na,b\r\n' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'CSV with only a header',
      { format: 'csv', payload: 'identity_type,identity_number\r\n' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    ['an unknown format', { format: 'yaml', payload: 'a: b' }, 422, 'ERR_VAL_INVALID_FORMAT'],
    [
      'json format with text',
      { format: 'json', payload: 'identity_type\r\nx' },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    [
      'csv format with an array',
      { format: 'csv', payload: [{ full_name: 'x' }] },
      422,
      'ERR_VAL_INVALID_FORMAT',
    ],
    ['an empty json array', { format: 'json', payload: [] }, 422, 'ERR_VAL_INVALID_FORMAT'],
    ['an unknown body field', { format: 'json', payload: [{}], extra: 1 }, 422, 'ERR_VAL_UNKNOWN_FIELD'],
    [
      'too many records',
      {
        format: 'json',
        payload: Array.from({ length: MAX_RECORDS + 1 }, () => ({ identity_type: 'national_id' })),
      },
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'too many CSV rows',
      { format: 'csv', payload: `identity_type\r\n${'national_id\r\n'.repeat(MAX_RECORDS + 1)}` },
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'a body over the size limit',
      { format: 'csv', payload: `full_name\r\n${'x'.repeat(70_000)}` },
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
  ];

  it.each(cases)('%s → %i', async (_name, body, status, code) => {
    const persons = await countPersons(a);
    const jobs = await pushJobs(a);
    const before = (await exchangesOf(live)).length;
    const res = await push(live, { contract_id: contractId, ...body });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect(await countPersons(a)).toBe(persons);
    expect(await pushJobs(a)).toBe(jobs);
    const after = await exchangesOf(live);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ direction: 'push', status: 'failed', error: { code } });
    const records = await t.db.query('SELECT 1 FROM integration_exchange_records WHERE exchange_id = $1', [
      after.at(-1)!.exchange_id,
    ]);
    expect(records.rowCount).toBe(0);
  });

  it('a CSV or XML payload sent as the raw body is refused (415): the payload goes in the JSON envelope', async () => {
    const res = await call(t.app, live.token, 'POST', iurl(live.id, '/data/push'), 'full_name\r\nx', {
      'content-type': 'text/csv',
    });
    expect(res.statusCode).toBe(415);
  });
});

describe('idempotent push', () => {
  let live: Live;
  let contractId: string;
  beforeAll(async () => {
    live = await liveIntegration();
    contractId = await newContract(live, {
      data_categories: ['person'],
      field_list: ['full_name', 'gender', 'date_of_birth'],
    });
  });

  const record = () => ({
    identity_type: 'national_id',
    identity_number: nid(),
    full_name: 'Once Only',
    gender: '2',
    date_of_birth: '2000-01-01',
  });

  it('a retry with the body key returns the original exchange; another payload with it is a 422', async () => {
    const body = {
      contract_id: contractId,
      format: 'json',
      payload: [record()],
      idempotency_key: unique('k').replace(' ', '-'),
    };
    // A push updates a consented person (it creates nobody).
    const held = await createPerson(t.app, a.admin.token, {
      identity_number: body.payload[0].identity_number,
    });
    await grantConsent(t.app, a.admin.token, held.person_id, a.verticals.HEALTH);
    const first = await push(live, body);
    expect(first.statusCode, first.body).toBe(202);
    const jobs = await pushJobs(a);
    const again = await push(live, body);
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().exchange_id).toBe(first.json().exchange_id);
    expect(await pushJobs(a)).toBe(jobs);
    await t.app.hearth.services.jobs.drain();
    const later = await push(live, body);
    expect(later.json()).toMatchObject({ exchange_id: first.json().exchange_id, status: 'completed' });
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM persons WHERE tenant_id = $1 AND full_name = 'Once Only'
          AND id IN (SELECT person_id FROM person_identities WHERE identity_number = $2)`,
      [a.tenantId, body.payload[0].identity_number],
    );
    expect(rows[0].n).toBe(1);

    const other = await push(live, { ...body, payload: [record()] });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({
      code: 'ERR_IDEMPOTENCY_MISMATCH',
      exchange_id: first.json().exchange_id,
    });
    expect(await lastExchange(live)).toMatchObject({
      status: 'failed',
      idempotency_key: body.idempotency_key,
    });
  });

  it('the Idempotency-Key header works the same; a header and a body key that differ are refused', async () => {
    const key = `hdr-${randomBytes(6).toString('hex')}`;
    const body = { contract_id: contractId, format: 'json', payload: [record()] };
    const first = await push(live, body, live.token, { 'idempotency-key': key });
    expect(first.statusCode).toBe(202);
    const again = await push(live, body, live.token, { 'idempotency-key': key });
    expect(again.json().exchange_id).toBe(first.json().exchange_id);
    const viaBody = await push(live, { ...body, idempotency_key: key });
    expect(viaBody.json().exchange_id).toBe(first.json().exchange_id);
    const clash = await push(live, { ...body, idempotency_key: 'other' }, live.token, {
      'idempotency-key': key,
    });
    expect(clash.statusCode).toBe(422);
    expect(clash.json().code).toBe('ERR_IDEMPOTENCY_MISMATCH');
    expect((await exchangesOf(live, '?status=accepted')).map((e) => e.idempotency_key)).toContain(key);
  });

  it('a key used by a refused push does not bind: the corrected push goes through', async () => {
    const key = `fix-${randomBytes(6).toString('hex')}`;
    const bad = await push(live, {
      contract_id: contractId,
      format: 'csv',
      payload: 'a,"b',
      idempotency_key: key,
    });
    expect(bad.statusCode).toBe(422);
    const good = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [record()],
      idempotency_key: key,
    });
    expect(good.statusCode).toBe(202);
  });
});

describe('exchange logs', () => {
  let live: Live;
  let contractId: string;
  beforeAll(async () => {
    live = await liveIntegration();
    contractId = await newContract(live);
    await pull(live, { contract_id: contractId });
    await pull(live, { contract_id: contractId, format: 'csv' });
    await pull(live, { contract_id: '0190a0c0-0000-7000-8000-000000000000' });
  });

  it('lists with status, direction and since filters and a cursor', async () => {
    const all = await exchangesOf(live);
    expect(all.map((e) => e.status)).toEqual(['completed', 'completed', 'failed']);
    expect(all[0]).toMatchObject({
      exchange_id: expect.any(String),
      direction: 'pull',
      format: 'json',
      tenant_id: a.tenantId,
      completed_at: expect.any(String),
      data_categories: ['person', 'household'],
    });
    expect(await exchangesOf(live, '?status=failed')).toHaveLength(1);
    expect(await exchangesOf(live, '?direction=push')).toHaveLength(0);
    expect(
      await exchangesOf(live, `?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
    ).toEqual([]);
    const page = await call(t.app, a.admin.token, 'GET', iurl(live.id, '/exchanges?limit=2'));
    expect(page.json().data).toHaveLength(2);
    const next = await call(
      t.app,
      a.admin.token,
      'GET',
      iurl(live.id, `/exchanges?limit=2&cursor=${page.json().next_cursor}`),
    );
    expect(next.json()).toMatchObject({ data: [{ status: 'failed' }], next_cursor: null });
    expect(
      (await call(t.app, a.admin.token, 'GET', iurl(live.id, '/exchanges?status=done'))).statusCode,
    ).toBe(400);
  });

  it('readable by integration readers and by the integration itself, no one else', async () => {
    const auditor = await a.client({ roles: ['auditor'] });
    expect((await call(t.app, auditor.token, 'GET', iurl(live.id, '/exchanges'))).statusCode).toBe(200);
    expect((await call(t.app, live.token, 'GET', iurl(live.id, '/exchanges'))).statusCode).toBe(200);
    const registrar = await a.client({ roles: ['registrar'] });
    const denied = await call(t.app, registrar.token, 'GET', iurl(live.id, '/exchanges'));
    expect(denied.statusCode).toBe(403);
    const other = await liveIntegration();
    const id = (await exchangesOf(live))[0].exchange_id as string;
    expect((await call(t.app, other.token, 'GET', iurl(live.id, `/exchanges/${id}`))).statusCode).toBe(403);
    expect(
      (await call(t.app, null as unknown as string, 'GET', iurl(live.id, '/exchanges'))).statusCode,
    ).toBe(401);
  });

  it("another tenant's integration and exchanges answer 404 like missing ones", async () => {
    const id = (await exchangesOf(live))[0].exchange_id as string;
    for (const path of ['/exchanges', `/exchanges/${id}`]) {
      const res = await call(t.app, b.admin.token, 'GET', iurl(live.id, path));
      expect(res.statusCode, path).toBe(404);
    }
    const missing = await call(
      t.app,
      a.admin.token,
      'GET',
      iurl(live.id, '/exchanges/0190a0c0-0000-7000-8000-000000000000'),
    );
    expect(missing.statusCode).toBe(404);
    const foreignPull = await pull(live, { contract_id: contractId }, b.admin.token);
    expect(foreignPull.statusCode).toBe(404);
  });

  it('row-level security keeps exchange tables to the transaction tenant', async () => {
    const seen = await t.db.transaction(
      (tx) =>
        tx.query<{ n: number }>(
          'SELECT (SELECT count(*) FROM integration_exchanges)::int + (SELECT count(*) FROM integration_exchange_records)::int AS n',
        ),
      { tenantId: b.tenantId },
    );
    const own = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM integration_exchanges WHERE tenant_id = $1',
      [b.tenantId],
    );
    expect(seen.rows[0].n).toBeGreaterThanOrEqual(own.rows[0].n);
    const leaked = await t.db.transaction(
      (tx) =>
        tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM integration_exchanges WHERE tenant_id <> $1',
          [b.tenantId],
        ),
      { tenantId: b.tenantId },
    );
    expect(leaked.rows[0].n).toBe(0);
  });
});

describe('rate limits per integration', () => {
  it('exchange routes answer 429 with Retry-After once its client’s per-minute limit is spent, and log it', async () => {
    const live = await liveIntegration();
    const contractId = await newContract(live, { data_categories: ['person'], field_list: ['full_name'] });
    const other = await liveIntegration();
    const otherContract = await newContract(other, {
      data_categories: ['person'],
      field_list: ['full_name'],
    });
    // The limit is the integration's client's own (rate_limit_per_minute on the client record).
    await t.db.query('UPDATE api_clients SET rate_limit_per_minute = 3 WHERE client_id = $1', [
      live.clientId,
    ]);
    await t.app.hearth.services.clientCache.invalidate(live.clientId);
    // Fixed one-minute windows: start well inside one so the four calls share it.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));

    const pulled = await pull(live, { contract_id: contractId });
    expect(pulled.statusCode, pulled.body).toBe(200);
    expect(pulled.headers['ratelimit-limit']).toBe('3');
    expect(pulled.headers['ratelimit-remaining']).toBe('2');
    const pushed = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [{ identity_type: 'national_id', identity_number: nid(), full_name: 'Rate Limited' }],
    });
    expect(pushed.statusCode, pushed.body).toBe(202);
    expect(pushed.headers['ratelimit-remaining']).toBe('1');
    const logs = await call(t.app, live.token, 'GET', iurl(live.id, '/exchanges'));
    expect(logs.statusCode).toBe(200);
    expect(logs.headers['ratelimit-remaining']).toBe('0');

    const refused = [
      await pull(live, { contract_id: contractId, format: 'csv' }),
      await push(live, { contract_id: contractId, format: 'json', payload: [{}] }),
      await pull(live, { contract_id: contractId, delivery: 'file' }),
      await call(t.app, live.token, 'GET', iurl(live.id, `/exchanges/${pulled.json().exchange_id}`)),
    ];
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(429);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('ERR_RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // Refused pushes and pulls still leave failed exchange rows naming the client.
    const failed = (await exchangesOf(live, '?status=failed')).filter(
      (e) => (e.error as { code: string }).code === 'ERR_RATE_LIMITED',
    );
    expect(failed.map((e) => e.direction).sort()).toEqual(['pull', 'pull', 'push']);
    for (const e of failed) {
      // Refused before the body is read: a pull's query names the contract, a push's body is unread.
      const named = e.direction === 'pull' ? contractId : null;
      expect(e).toMatchObject({ client_id: live.clientId, contract_id: named });
    }
    // The limit is per integration: another integration of the tenant is not held back.
    const elsewhere = await pull(other, { contract_id: otherContract });
    expect(elsewhere.statusCode).toBe(200);
  });
});

describe('push processed after the rules changed', () => {
  it('an integration restricted between acceptance and processing: the job refuses, logs, writes nothing', async () => {
    const live = await liveIntegration();
    const contractId = await newContract(live, {
      data_categories: ['person'],
      field_list: ['full_name', 'gender', 'date_of_birth'],
    });
    await t.app.hearth.services.jobs.drain(); // earlier tests' pushes
    const persons = await countPersons(a);
    const res = await push(live, {
      contract_id: contractId,
      format: 'json',
      payload: [
        {
          identity_type: 'national_id',
          identity_number: nid(),
          full_name: 'Late',
          gender: '1',
          date_of_birth: '1999-09-09',
        },
      ],
    });
    expect(res.statusCode).toBe(202);
    await act(a.admin.token, live.id, 'restrict', { reason_code: 'SECURITY_INCIDENT' });
    await t.app.hearth.services.jobs.drain();
    expect(await countPersons(a)).toBe(persons);
    const ex = await call(t.app, a.admin.token, 'GET', iurl(live.id, `/exchanges/${res.json().exchange_id}`));
    expect(ex.json()).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_STATE_CONFLICT' },
      records_rejected: 1,
      results: { data: [{ outcome: 'rejected', errors: [{ code: 'ERR_STATE_CONFLICT' }] }] },
    });
    const bad = await call(
      t.app,
      a.admin.token,
      'GET',
      iurl(
        live.id,
        `/exchanges/${res.json().exchange_id}?results_cursor=${Buffer.from('["x"]').toString('base64url')}`,
      ),
    );
    expect(bad.statusCode).toBe(400);
  });
});
