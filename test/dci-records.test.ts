import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { dciPost, idQuery, searchEnvelope, searchItem } from './helpers/dci-client.js';
import { contractedIntegration } from './helpers/integration.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

// Seed 001: a person's birth place and, for each household membership, the household's name and
// identifiers. The SRPerson vocabulary has no property for them: they are Attribute Name/Value
// pairs in additional_attributes (docs/decisions/0064-dci-records.md), through the same consent
// and classification decision as every other field. Every request and answer is checked against
// the DCI contract by dciPost.

const SYNC = '/dci/registry/sync/search';

// biome-ignore lint/suspicious/noExplicitAny: records are checked by the assertions
type Json = Record<string, any>;

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let dci: { token: string };
const people: Record<string, { person_id: string; nid: string }> = {};
const wanjiru = { id: '', number: '' };

async function person(tenant: TestTenant, name: string, body: Record<string, unknown>, consent = true) {
  const number = nid();
  const created = await createPerson(t.app, tenant.admin.token, { identity_number: number, ...body });
  if (consent) await grantConsent(t.app, tenant.admin.token, created.person_id, tenant.verticals.HEALTH);
  people[name] = { person_id: created.person_id, nid: number };
  return people[name];
}

async function household(tenant: TestTenant, name: string, leader: string, members: string[]) {
  const hh = await call(t.app, tenant.admin.token, 'POST', '/api/v1/households', {
    household_name: name,
    leader_id: people[leader].person_id,
  });
  expect(hh.statusCode, hh.body).toBe(201);
  const id = hh.json().household_id as string;
  for (const who of members) {
    const m = await call(t.app, tenant.admin.token, 'POST', `/api/v1/households/${id}/members`, {
      person_id: people[who].person_id,
      relationship_type: 'child',
      effective_from: '2020-01-01',
    });
    expect(m.statusCode, m.body).toBe(201);
  }
  return id;
}

/** The records of a one-item sync search. */
async function search(token: string, criteria: Record<string, unknown>): Promise<Json[]> {
  const res = await dciPost(t.app, token, SYNC, searchEnvelope([searchItem(criteria)]));
  expect(res.statusCode, res.body).toBe(200);
  const item = res.json().message.search_response[0];
  expect(item.status, JSON.stringify(item)).toBe('succ');
  return item.data.reg_records;
}

beforeAll(async () => {
  t = await createTestApp({
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
    HEARTH_DCI_PARTICIPANT_ID: 'registry.example.org',
    HEARTH_DCI_ID_TYPES: 'UIN=national_id,HHID=household_id',
  });
  [a, b] = await Promise.all([
    createTestTenant(t, { field_classification: { 'identities.identity_number': 'personal' } }),
    // Tenant b classifies birth place and household as sensitive.
    createTestTenant(t, {
      field_classification: {
        'identities.identity_number': 'personal',
        birth_place: 'sensitive',
        household_id: 'sensitive',
      },
    }),
  ]);
  dci = await contractedIntegration(t, a);
  const code = await call(t.app, a.admin.token, 'POST', '/api/v1/vocabularies/id-type/codes', {
    code: 'household_id',
    display: 'Household ID',
  });
  expect(code.statusCode, code.body).toBe(201);

  await person(a, 'amina', { full_name: 'Amina Wanjiru', gender: '2', birth_place: 'Kisumu' });
  await person(a, 'brian', { full_name: 'Brian Otieno', gender: '1', birth_place: 'Nairobi' });
  await person(a, 'ghost', { full_name: 'Ghost Head', gender: '1', birth_place: 'Mombasa' }, false);
  await person(a, 'old', { full_name: 'Old Head', gender: '2' });
  // A household with an identifier, through the V2 face (the native API has no route for them).
  wanjiru.number = `HH-${nid()}`;
  const group = await call(t.app, a.admin.token, 'POST', '/api/v2/spp/Group', {
    type: 'Group',
    identifier: [{ system: 'urn:hearth:vocab:id-type#household_id', value: wanjiru.number }],
    groupType: 'household',
    name: 'Wanjiru household',
    member: [
      { entity: `Individual/urn:hearth:id:person|${people.amina.person_id}`, role: 'head' },
      { entity: `Individual/urn:hearth:id:person|${people.brian.person_id}`, role: 'child' },
    ],
  });
  expect(group.statusCode, group.body).toBe(201);
  wanjiru.id = group.json().identifier[0].value;
  // Brian is also in a household whose head has no consent, and was in one he has left.
  await household(a, 'Ghost household', 'ghost', ['brian']);
  const old = await household(a, 'Old household', 'old', ['brian']);
  const end = await call(
    t.app,
    a.admin.token,
    'POST',
    `/api/v1/households/${old}/members/${people.brian.person_id}/end`,
    { effective_until: '2024-01-01', reason_code: 'MOVED' },
  );
  expect(end.statusCode, end.body).toBe(200);
});
afterAll(() => t?.close());

describe('DCI person records: birth place and households (seed 001)', () => {
  it('an SRPerson carries its birth place and each current household it may be shown, as name/value pairs', async () => {
    const [brian] = await search(dci.token, idQuery('UIN', people.brian.nid));
    // Not the household of an unconsented head, nor the one he left.
    expect(brian.additional_attributes).toEqual([
      { name: 'birth_place', value: 'Nairobi' },
      { name: 'household[0].name', value: 'Wanjiru household' },
      { name: 'household[0].identifier.HEARTH_GROUP_ID', value: wanjiru.id },
      { name: 'household[0].identifier.HHID', value: wanjiru.number },
    ]);
    // A head is a member of their own household.
    const [amina] = await search(dci.token, idQuery('UIN', people.amina.nid));
    expect(amina.additional_attributes.map((x: Json) => x.name)).toEqual([
      'birth_place',
      'household[0].name',
      'household[0].identifier.HEARTH_GROUP_ID',
      'household[0].identifier.HHID',
    ]);
    // Member records carry the same in their demographic_info.
    const [member] = await search(dci.token, idQuery('UIN', people.brian.nid, { response_entity: 'Member' }));
    expect(member['@type']).toBe('Member');
    expect(member.demographic_info.additional_attributes).toEqual(brian.additional_attributes);
  });

  it('a Group record names the household and lists its identifiers; its members carry only their birth place', async () => {
    const [group] = await search(dci.token, idQuery('HHID', wanjiru.number, { response_entity: 'Group' }));
    expect(group.group_identifier).toEqual([
      { identifier_type: 'HEARTH_GROUP_ID', identifier_value: wanjiru.id },
      { identifier_type: 'HHID', identifier_value: wanjiru.number },
    ]);
    expect(group.additional_attributes).toEqual([{ name: 'household_name', value: 'Wanjiru household' }]);
    const child = group.member_list.find(
      (m: Json) => m.member_identifier[0].identifier_value === people.brian.person_id,
    );
    expect(child.demographic_info.additional_attributes).toEqual([{ name: 'birth_place', value: 'Nairobi' }]);
  });

  it('a sender sees birth place and households when its contract names them, whatever the classification', async () => {
    await person(b, 'zuri', { full_name: 'Zuri Achieng', gender: '2', birth_place: 'Eldoret' });
    await person(b, 'zuri_head', { full_name: 'Juma Achieng', gender: '1' });
    const hh = await household(b, 'Achieng household', 'zuri_head', ['zuri']);
    // Without a contract: the basic fields, the rest named as masked in DCI's vocabulary.
    const plain = await b.client({ roles: ['integration'], scopes: ['dci:search'], name: 'plain' });
    const [hidden] = await search(plain.token, idQuery('UIN', people.zuri.nid));
    expect(hidden.additional_attributes).toEqual([
      { name: 'masked_fields', value: expect.stringContaining('birth_place') },
    ]);
    expect(hidden.identifier).not.toContainEqual({
      identifier_type: 'UIN',
      identifier_value: people.zuri.nid,
    });
    // Tenant b classifies birth place and households sensitive: that governs its staff, not a
    // third party, which sees what its contract names.
    const contracted = await contractedIntegration(t, b, [
      'full_name',
      'identities',
      'birth_place',
      'household_id',
      'household.household_name',
    ]);
    const [shown] = await search(contracted.token, idQuery('UIN', people.zuri.nid));
    expect(shown.identifier).toContainEqual({ identifier_type: 'UIN', identifier_value: people.zuri.nid });
    expect(shown.additional_attributes.filter((x: { name: string }) => x.name !== 'masked_fields')).toEqual([
      { name: 'birth_place', value: 'Eldoret' },
      { name: 'household[0].name', value: 'Achieng household' },
      { name: 'household[0].identifier.HEARTH_GROUP_ID', value: hh },
    ]);
    // Tenant a's sender never sees tenant b's person, with or without these attributes.
    expect(await search(dci.token, idQuery('UIN', people.zuri.nid))).toEqual([]);
  });
});
