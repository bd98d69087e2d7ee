// Issue 14: a third party with a 3-field contract sees those 3 fields (plus ids and record keys)
// on every face: REST, V2, G2P, DCI, exchange pull and webhooks. Every other field of a consented
// person carries a sentinel value that no response may contain.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { consentKit } from './helpers/consent.js';
import {
  callbackReceiver,
  dciPost,
  header,
  idQuery,
  now,
  predicateQuery,
  searchEnvelope,
  searchItem,
} from './helpers/dci-client.js';
import { contractedIntegration } from './helpers/integration.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type TestTenant, tokenFor } from './helpers/tenant.js';

const CONTRACT = ['full_name', 'date_of_birth', 'gender'] as const;
const FULL_NAME = 'Amara Contractwalk';
const BIRTH = '1961-07-19';

let t: TestApp;
let w: TestTenant;
let partner: Awaited<ReturnType<typeof contractedIntegration>>;
/** The partner's client, widened by the tenant admin to every scope of a tenant admin. */
let token: string;
const number = `SENTINEL${nid()}`;
const person = { id: '', guid: '', household: '', relationship: '', consent: '', related: '' };
/** Values of fields outside the contract: none may appear in any response to the partner. */
const SENTINELS = [
  'Qelvanogiven',
  'Qelvanofam',
  'Qelvanomid',
  number,
  '+254799654321',
  'qelvano.sentinel',
  'Zyqtown',
  'Zyq Lane',
  'Zyqhold',
];

let receiver: http.Server;
let receiverUrl: string;
const webhookBodies: string[] = [];

const { verifiedPerson, evidence, capture } = consentKit(() => ({ t, a: w }));

beforeAll(async () => {
  t = await createTestApp({
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
    HEARTH_DCI_PARTICIPANT_ID: 'registry.example.org',
  });
  w = await createTestTenant(t);
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      webhookBodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const p = await verifiedPerson(w, {
    full_name: FULL_NAME,
    given_name: 'Qelvanogiven',
    family_name: 'Qelvanofam',
    additional_name: 'Qelvanomid',
    identity_number: number,
    birth_place: 'Zyqtown',
    date_of_birth: BIRTH,
    gender: '2',
    address: { text: 'Zyq Lane 7' },
    contacts: [
      { type: 'phone', value: '+254799654321' },
      { type: 'email', value: 'qelvano.sentinel@example.org' },
    ],
  });
  person.id = p.person_id;
  person.guid = p.system_guid as string;
  person.consent = (await capture(p.person_id, await evidence(w), w)).consent_id;
  const related = await verifiedPerson(w, { full_name: 'Bora Related' });
  person.related = related.person_id;
  await capture(related.person_id, await evidence(w), w);
  const ok = async (url: string, body: unknown) => {
    const res = await call(t.app, w.admin.token, 'POST', url, body);
    expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    return res.json();
  };
  person.household = (
    await ok('/api/v1/households', {
      household_name: 'Zyqhold',
      leader_id: p.person_id,
      address: { text: 'Zyq Lane 7' },
    })
  ).household_id;
  person.relationship = (
    await ok('/api/v1/relationships', {
      person_id: related.person_id,
      related_person_id: p.person_id,
      relationship_type: 'mother',
      effective_from: '2020-01-01',
    })
  ).relationship_id;

  partner = await contractedIntegration(t, w, CONTRACT);
  // The tenant admin widens the partner's own client to every scope it holds: the contract, not
  // the scopes, still decides what a third party sees.
  const widened = await call(t.app, w.admin.token, 'PATCH', `/api/v1/clients/${partner.clientId}`, {
    roles: ['integration', 'tenant_admin'],
  });
  expect(widened.statusCode, widened.body).toBe(200);
  token = await tokenFor(t.app, partner.clientId, partner.secret);
});
afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  await t?.close();
});

/** The body without the echo of the request path (the problem's `instance`), which the caller sent. */
function bodyOf(res: { body: string; headers: Record<string, unknown> }): string {
  if (!String(res.headers['content-type'] ?? '').includes('json')) return res.body;
  const parsed = JSON.parse(res.body);
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) delete parsed.instance;
  return JSON.stringify(parsed);
}

function assertClean(label: string, body: string) {
  for (const s of SENTINELS) expect(body, `${label} carries ${s}, outside the contract`).not.toContain(s);
}

describe('a third party with a 3-field contract', () => {
  it('sees the 3 fields and nothing else on any GET route of any face', async () => {
    const fill: Record<string, string> = {
      person_id: person.id,
      household_id: person.household,
      relationship_id: person.relationship,
      consent_id: person.consent,
      integration_id: partner.integrationId,
      contract_id: partner.contractId,
      identifier: encodeURIComponent(`urn:hearth:id:person|${person.id}`),
      version_id: '1',
    };
    const routes = t.app.hearth.routes.filter(
      (r) => r.method === 'GET' && !(r.auth && 'public' in r.auth && r.auth.public),
    );
    let answered = 0;
    for (const r of routes) {
      const url = r.url.replace(/:([a-z_]+)/g, (_m, name: string) => fill[name] ?? person.id);
      const res = await call(t.app, token, 'GET', url);
      expect(res.statusCode, `GET ${r.url}: ${res.body}`).toBeLessThan(500);
      assertClean(`GET ${r.url}`, bodyOf(res));
      if (res.statusCode === 200) answered++;
    }
    expect(answered).toBeGreaterThan(40);

    // The contract's fields do reach the partner (so the walk above could have failed).
    const own = await call(t.app, token, 'GET', `/api/v1/persons/${person.id}`);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({ person_id: person.id, full_name: FULL_NAME, date_of_birth: BIRTH });
    expect(own.json().given_name ?? null).toBeNull();
    const v2 = await call(t.app, token, 'GET', `/api/v2/spp/Individual/${fill.identifier}`);
    expect(v2.statusCode, v2.body).toBe(200);
    expect(v2.body).toContain(BIRTH);
    // V2 names what it withheld, by V2 field name, in meta.masked.
    expect(v2.json().meta?.masked, v2.body).toEqual(expect.arrayContaining(['identifier', 'telecom']));
    const g2p = await call(t.app, token, 'GET', `/g2p/api/v1/registry/individual/${person.id}`);
    expect(g2p.statusCode, g2p.body).toBe(200);
    expect(g2p.body).toContain(FULL_NAME);
  });

  it('searches, lists and version histories on every face carry only the contract', async () => {
    const urls = [
      '/api/v1/persons?limit=200',
      '/api/v1/persons/search?criteria_id=name&criteria_value=contractwalk',
      `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`,
      '/api/v1/persons/search?criteria_id=phone&criteria_value=%2B254799654321',
      '/api/v1/households/search?status=all',
      `/api/v1/households/${person.household}/members?include_ended=true`,
      `/api/v1/persons/${person.id}/versions`,
      `/api/v1/persons/${person.related}/relationships`,
      '/api/v2/spp/Individual?name=Contractwalk',
      `/api/v2/spp/Individual?birthDate=${BIRTH}`,
      '/api/v2/spp/Group?_count=50',
      '/g2p/api/v1/registry/individual?name=contractwalk',
      '/g2p/api/v1/registry/group?name=zyq',
    ];
    let found = 0;
    for (const url of urls) {
      const res = await call(t.app, token, 'GET', url);
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(500);
      assertClean(url, bodyOf(res));
      if (res.body.includes(person.id) || res.body.includes(FULL_NAME)) found++;
    }
    expect(found).toBeGreaterThanOrEqual(6);
    // An exact identifier outside the contract finds the person (the caller holds it) and reveals
    // nothing more; a match on a field outside the contract (the household's position) is refused.
    const byEmail = await call(
      t.app,
      token,
      'GET',
      '/api/v1/persons/search?criteria_id=email&criteria_value=qelvano.sentinel%40example.org',
    );
    expect(byEmail.body).toContain(person.id);
    assertClean('search by email', bodyOf(byEmail));
    const near = await call(t.app, token, 'GET', '/api/v1/persons/search?lat=-1.23&lon=36.81&radius_km=5');
    expect(near.statusCode, near.body).toBe(403);
  });

  it('DCI records, by an identifier and by a predicate on a contract field, carry only the contract', async () => {
    for (const query of [
      idQuery('UIN', number),
      predicateQuery([
        { expression1: { attribute_name: 'birth_date', operator: 'eq', attribute_value: BIRTH } },
      ]),
    ]) {
      const res = await dciPost(
        t.app,
        token,
        '/dci/registry/sync/search',
        searchEnvelope([searchItem(query)]),
      );
      const item = res.json().message.search_response[0];
      expect(item.status, JSON.stringify(item)).toBe('succ');
      const records = item.data.reg_records as { identifier: unknown[]; birth_date?: string }[];
      expect(records.length).toBe(1);
      expect(records[0].birth_date).toBe(BIRTH);
      assertClean('DCI record', JSON.stringify(records));
    }
  });

  it('exchange pull, as JSON and CSV, carries only the contract', async () => {
    for (const format of ['json', 'csv']) {
      const res = await call(
        t.app,
        token,
        'GET',
        `/api/v1/integrations/${partner.integrationId}/data/pull?${new URLSearchParams({ contract_id: partner.contractId, format })}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).toContain(FULL_NAME);
      assertClean(`pull ${format}`, res.body);
    }
  });

  it('webhook deliveries carry only the contract', async () => {
    const hook = await call(
      t.app,
      w.admin.token,
      'POST',
      `/api/v1/integrations/${partner.integrationId}/webhooks`,
      {
        target_url: `${receiverUrl}/hook`,
        event_types: ['person.updated'],
        contract_id: partner.contractId,
        active_from: new Date(Date.now() - 3600_000).toISOString(),
      },
    );
    expect(hook.statusCode, hook.body).toBe(201);
    const changed = await call(t.app, w.admin.token, 'PATCH', `/api/v1/persons/${person.id}`, {
      birth_place: 'Zyqtown Upper',
    });
    expect(changed.statusCode, changed.body).toBe(200);
    for (let i = 0; i < 200 && !webhookBodies.some((b) => b.includes(person.id)); i++) {
      await t.app.hearth.services.jobs.runPeriodic('events.dispatch');
      await t.app.hearth.services.jobs.runPeriodic('webhooks.deliver');
      await new Promise((r) => setTimeout(r, 25));
    }
    const mine = webhookBodies.filter((b) => b.includes(person.id));
    expect(mine.length).toBeGreaterThan(0);
    for (const body of mine) {
      expect(body).toContain(FULL_NAME);
      assertClean('webhook', body);
    }
  });

  it('a DCI subscribe filtered by UIN is acknowledged and later notifies, with only the contract', async () => {
    const cb = await callbackReceiver();
    try {
      const subscriber = await contractedIntegration(t, w, CONTRACT);
      const uin = `UIN${nid()}`;
      const envelope = {
        header: header('subscribe', 1, { sender_uri: cb.url('/cb/uin') }),
        message: {
          transaction_id: `txn-${randomUUID()}`,
          subscribe_request: [
            {
              reference_id: `ref-${randomUUID()}`,
              timestamp: now(),
              subscribe_criteria: {
                reg_event_type: 'REGISTER',
                filter_type: 'idtype-value',
                filter: { type: 'UIN', value: uin },
                notify_record_type: 'SRPerson',
              },
            },
          ],
        },
      };
      const ack = await dciPost(t.app, subscriber.token, '/dci/registry/subscribe', envelope);
      expect(ack.json().message.ack_status, ack.body).toBe('ACK');
      const work = async () => {
        await t.app.hearth.services.dispatcher.dispatchPending();
        await t.app.hearth.services.jobs.drain();
      };
      await work();
      const onSub = cb.ofAction('on-subscribe');
      expect(onSub).toHaveLength(1);
      const [subscribed] = onSub[0].body.message.subscribe_response as { status: string }[];
      expect(subscribed.status, JSON.stringify(onSub[0].body)).toBe('succ');

      // Someone else registers and consents: no notify. The person holding the UIN: one notify.
      const other = await createPerson(t.app, w.admin.token, { full_name: 'Not Subscribed' });
      await grantConsent(t.app, w.admin.token, other.person_id, w.verticals.HEALTH);
      const holder = await createPerson(t.app, w.admin.token, {
        full_name: 'Uin Holder',
        given_name: 'Qelvanogiven',
        identity_number: uin,
        date_of_birth: '1980-01-01',
      });
      await grantConsent(t.app, w.admin.token, holder.person_id, w.verticals.HEALTH);
      await work();
      const notes = cb.ofAction('notify');
      expect(cb.problems).toEqual([]);
      expect(notes).toHaveLength(1);
      const [event] = notes[0].body.message.notify_event as {
        data: { reg_records: { identifier: unknown[]; birth_date?: string } };
      }[];
      const record = event.data.reg_records;
      expect(record.identifier).toContainEqual({
        identifier_type: 'HEARTH_PERSON_ID',
        identifier_value: holder.person_id,
      });
      expect(record.birth_date).toBe('1980-01-01');
      expect(JSON.stringify(record)).not.toContain('Qelvanogiven');
    } finally {
      await cb.close();
    }
  });
});
