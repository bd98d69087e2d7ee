// Consent enforcement (issue 5): the one access decision on every read, masking, 404-equivalence
// for consent-bound callers, search paging with hidden rows, and a walk over every route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentAllowsSql, registrationSql } from '../src/access/consent-filter.js';
import { consentStates } from '../src/access/consent-state.js';
import { decide } from '../src/access/person-access.js';
import { readerOf } from '../src/access/reader.js';
import { type Actor, systemActor } from '../src/auth/principal.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { ago, ahead, consentKit, DAY } from './helpers/consent.js';
import { nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let registrar: IssuedTestClient;
let reviewer: IssuedTestClient;
let auditor: IssuedTestClient;
/** A staff client the tenant marked consent-bound. */
let bound: IssuedTestClient;
/** An integration-role client (consent-bound by its role), with read scopes through a staff role. */
let integration: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  a = await createTestTenant(t);
  registrar = await a.client({ roles: ['registrar'] });
  reviewer = await a.client({ roles: ['reviewer'] });
  auditor = await a.client({ roles: ['auditor'] });
  bound = await a.client({ roles: ['registrar'], consent_bound: true });
  integration = await a.client({ roles: ['integration', 'auditor'] });
});
afterAll(() => t?.close());

const { post, get, verifiedPerson, evidence, captureBody, capture, backdate } = consentKit(() => ({ t, a }));

describe('the access decision', () => {
  it('a consent-bound caller gets the same answer for an unconsented person as for a missing one', async () => {
    const hidden = await verifiedPerson();
    const missing = '00000000-0000-4000-8000-00000000dead';
    for (const who of [bound, integration]) {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['PATCH', '', { given_name: 'x' }],
        ['POST', '/verify', {}],
        ['POST', '/archive', { reason_code: 'DATA_ERROR' }],
        ['GET', '/versions', undefined],
        ['GET', '/duplicates', undefined],
        ['GET', '/relationships', undefined],
        ['GET', '/consents', undefined],
        ['POST', '/consents', captureBody(a)],
      ] as const) {
        const h = await call(t.app, who.token, method, `/api/v1/persons/${hidden.person_id}${suffix}`, body);
        const m = await call(t.app, who.token, method, `/api/v1/persons/${missing}${suffix}`, body);
        const label = `${method} ${suffix}`;
        expect(h.statusCode, label).toBe(m.statusCode);
        if (h.statusCode === 403) continue; // the route's scope is refused before anything is looked up
        expect(h.statusCode, label).toBe(404);
        const { correlation_id: _a, instance: _b, ...hb } = h.json();
        const { correlation_id: _c, instance: _d, ...mb } = m.json();
        expect(hb, label).toEqual(mb);
        expect(Object.keys(h.json()).sort()).toEqual(Object.keys(m.json()).sort());
      }
    }
    // The person is untouched by the refused writes.
    expect((await get(a.admin.token, `/api/v1/persons/${hidden.person_id}`)).json().version_id).toBe(2);
  });

  it('a consent-bound caller may register a person and gets back only its basic fields', async () => {
    const res = await post(bound.token, '/api/v1/persons', {
      full_name: 'Baraka Mwangi',
      given_name: 'Baraka',
      date_of_birth: '1985-02-02',
      gender: '1',
      identity_type: 'national_id',
      identity_number: nid(),
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      full_name: 'Baraka Mwangi',
      verification_status: 'provisional',
      consent_status: 'none',
      given_name: null,
      identities: [],
    });
    expect(res.json().masked_fields).toEqual(expect.arrayContaining(['given_name', 'identities']));
    expect((await get(bound.token, `/api/v1/persons/${res.json().person_id}`)).statusCode).toBe(404);
  });

  it('staff see what registration needs while no consent is decided; after withdrawal only basic fields', async () => {
    const p = await verifiedPerson(a, {
      given_name: 'Wambui',
      contacts: [{ type: 'phone', value: '+254711000222' }],
    });
    // Registration stage: registrars, reviewers and tenant admins see identities, contacts,
    // date of birth and gender; an auditor the basic fields.
    for (const who of [registrar, reviewer, a.admin]) {
      const v = (await get(who.token, `/api/v1/persons/${p.person_id}`)).json();
      expect(v).toMatchObject({ consent_status: 'none', given_name: 'Wambui', date_of_birth: '1990-04-12' });
      expect(v.gender).not.toBeNull();
      expect(v.identities[0].identity_number).not.toContain('*');
      expect(v.contacts[0].value).toBe('+254711000222');
      expect(v.masked_fields).toEqual([]);
    }
    const audit = (await get(auditor.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(audit).toMatchObject({
      full_name: 'Amina Wanjiru',
      status: 'active',
      verification_status: 'verified',
      consent_status: 'none',
      given_name: null,
      date_of_birth: null,
      identities: [],
      contacts: [],
    });
    expect(audit.masked_fields).toEqual(
      expect.arrayContaining(['given_name', 'date_of_birth', 'gender', 'identities', 'contacts']),
    );
    const patch = await call(t.app, registrar.token, 'PATCH', `/api/v1/persons/${p.person_id}`, {
      family_name: 'Kariuki',
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().family_name).toBe('Kariuki');
    // Consent decided: the auditor sees personal fields (sensitive stay masked).
    const c = await capture(p.person_id, await evidence());
    const consented = (await get(auditor.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(consented).toMatchObject({
      consent_status: 'active',
      family_name: 'Kariuki',
      date_of_birth: '1990-04-12',
    });
    expect(consented.masked_fields).toEqual(
      expect.arrayContaining(['identities.identity_number', 'contacts']),
    );
    // Withdrawn: every staff role is back to the basic fields.
    await post(a.admin.token, `/api/v1/consents/${c.consent_id}/withdraw`, { reason_code: 'USER_REQUEST' });
    for (const who of [registrar, reviewer, a.admin, auditor]) {
      const v = (await get(who.token, `/api/v1/persons/${p.person_id}`)).json();
      expect(v).toMatchObject({ consent_status: 'withdrawn', full_name: 'Amina Wanjiru', given_name: null });
      expect(v).toMatchObject({ date_of_birth: null, gender: null, identities: [], contacts: [] });
    }
  });

  it('staff limited to verticals follow the consents of theirs', async () => {
    const p = await verifiedPerson();
    const edu = await a.client({ roles: ['auditor'], vertical_ids: [a.verticals.EDU] });
    const health = await a.client({ roles: ['auditor'], vertical_ids: [a.verticals.HEALTH] });
    const c = await capture(p.person_id, await evidence());
    expect((await get(health.token, `/api/v1/persons/${p.person_id}`)).json()).toMatchObject({
      consent_status: 'active',
      date_of_birth: '1990-04-12',
    });
    const other = (await get(edu.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(other).toMatchObject({ consent_status: 'none', date_of_birth: null });
    // Nor may they see or act on consents of other verticals.
    expect((await get(edu.token, `/api/v1/consents/${c.consent_id}`)).statusCode).toBe(404);
    expect((await get(edu.token, `/api/v1/persons/${p.person_id}/consents`)).json().data).toEqual([]);
  });

  it('masks sensitive fields for roles that may not see them, visibly and by name', async () => {
    const number = `NID${nid()}7890`;
    const p = await verifiedPerson(a, {
      identity_number: number,
      contacts: [{ type: 'phone', value: '+254722333444' }],
    });
    await capture(p.person_id, await evidence());
    const staff = (await get(auditor.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(staff.date_of_birth).toBe('1990-04-12');
    expect(staff.identities[0].identity_number).toMatch(/^\*+7890$/);
    expect(staff.contacts[0].value).toMatch(/^\*+3444$/);
    expect(staff.masked_fields).toEqual(expect.arrayContaining(['identities.identity_number', 'contacts']));
    expect(JSON.stringify(staff)).not.toContain(number);
    const admin = (await get(a.admin.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(admin.identities[0].identity_number).toBe(number);
    expect(admin.contacts[0].value).toBe('+254722333444');
    expect(admin.masked_fields).toEqual([]);
    // A client marked consent-bound is a third party: without a contract, the basic fields only.
    const boundAdmin = await a.client({ roles: ['tenant_admin'], consent_bound: true });
    const ba = (await get(boundAdmin.token, `/api/v1/persons/${p.person_id}`)).json();
    expect(ba).toMatchObject({ full_name: 'Amina Wanjiru', identities: [], date_of_birth: null });
    expect(JSON.stringify(ba)).not.toContain('7890');
  });

  it('exact identifiers may be looked up by any reader; other criteria on masked fields are refused', async () => {
    const number = nid();
    const p = await verifiedPerson(a, {
      identity_number: number,
      contacts: [{ type: 'phone', value: '+254722999111' }],
    });
    for (const who of [registrar, auditor]) {
      for (const q of [
        `criteria_id=identity&criteria_value=${number}`,
        'criteria_id=phone&criteria_value=%2B254722999111',
      ]) {
        const res = await get(who.token, `/api/v1/persons/search?${q}`);
        expect(res.statusCode, q).toBe(200);
        expect(res.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([p.person_id]);
      }
    }
    // The auditor found the person by its number, and still sees only what its role allows.
    const found = (
      await get(auditor.token, `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`)
    ).json();
    expect(found.data[0].identities).toEqual([]);
    // A radius search locates people: refused to a role that never sees positions.
    const radius = await get(auditor.token, '/api/v1/persons/search?lat=1&lon=34&radius_km=5');
    expect(radius.statusCode).toBe(403);
    expect(radius.json().code).toBe('ERR_SEC_FORBIDDEN');
    expect((await get(registrar.token, '/api/v1/persons/search?lat=1&lon=34&radius_km=5')).statusCode).toBe(
      200,
    );
    const custom = await createTestTenant(t, { field_classification: { date_of_birth: 'sensitive' } });
    const clerk = await custom.client({ roles: ['auditor'] });
    const cp = await verifiedPerson(custom);
    await capture(cp.person_id, await evidence(custom), custom);
    const view = (await get(clerk.token, `/api/v1/persons/${cp.person_id}`)).json();
    expect(view.date_of_birth).toBeNull();
    expect(view.masked_fields).toContain('date_of_birth');
    const search = '/api/v1/persons/search?criteria_id=birth_date&criteria_value=1990-04-12';
    expect((await get(clerk.token, search)).statusCode).toBe(403);
    const admin = await get(custom.admin.token, search);
    expect(admin.json().data.map((h: { person_id: string }) => h.person_id)).toEqual([cp.person_id]);
  });

  it('an expired consent allows reads until grace_until and nothing after; no exports or writes in grace', async () => {
    const inGrace = await verifiedPerson(a, { given_name: 'Graceful' });
    const lapsed = await verifiedPerson(a, { given_name: 'Lapsed' });
    const c1 = await capture(inGrace.person_id, { ...(await evidence()), active_until: ahead(DAY) });
    const c2 = await capture(lapsed.person_id, { ...(await evidence()), active_until: ahead(DAY) });
    await backdate(c1.consent_id, 11); // window closed 10 days ago; grace (30 days) until 20 days ahead
    await backdate(c2.consent_id, 41); // window closed 40 days ago; grace ended 10 days ago
    const read1 = await get(bound.token, `/api/v1/persons/${inGrace.person_id}`);
    expect(read1.statusCode).toBe(200);
    // A third party without a contract sees the basic fields of a person it may see.
    expect(read1.json()).toMatchObject({ given_name: null, consent_status: 'grace' });
    expect((await get(bound.token, `/api/v1/persons/${lapsed.person_id}`)).statusCode).toBe(404);
    // Grace is read-only: a consent-bound caller's write is refused like a missing person.
    const write = await call(t.app, bound.token, 'PATCH', `/api/v1/persons/${inGrace.person_id}`, {
      given_name: 'x',
    });
    expect(write.statusCode).toBe(404);
    // The sweep turns both into expired consents; access stays as the window and grace say.
    await t.app.hearth.services.consents.expireDue(new Date());
    const e1 = (await get(a.admin.token, `/api/v1/consents/${c1.consent_id}`)).json();
    expect(e1.status).toBe('expired');
    expect(Date.parse(e1.grace_until) - Date.parse(e1.active_until)).toBe(30 * DAY);
    expect((await get(bound.token, `/api/v1/persons/${inGrace.person_id}`)).json().consent_status).toBe(
      'grace',
    );
    expect((await get(bound.token, `/api/v1/persons/${lapsed.person_id}`)).statusCode).toBe(404);
    const staff = (await get(registrar.token, `/api/v1/persons/${lapsed.person_id}`)).json();
    expect(staff).toMatchObject({ given_name: null, consent_status: 'expired' });
    // Exports, pulls and webhook payloads ask the decision with purpose 'export': refused in grace.
    const actor: Actor = systemActor(a.tenantId);
    actor.principal = { ...actor.principal, isRoot: false, roles: ['integration'], consentBound: true };
    const reader = await t.db.transaction((tx) => readerOf(tx, actor, a.tenantId), { tenantId: a.tenantId });
    expect(decide(reader, 'grace', 'read').visible).toBe(true);
    expect(decide(reader, 'grace', 'search').visible).toBe(true);
    expect(decide(reader, 'grace', 'export').visible).toBe(false);
    expect(decide(reader, 'grace', 'write').visible).toBe(false);
    expect(decide(reader, 'active', 'export').visible).toBe(true);
    expect(decide(reader, 'expired', 'read').visible).toBe(false);
  });
});

describe('the SQL form of the decision', () => {
  it('consentAllowsSql admits exactly the persons whose consent state allows a read', async () => {
    const s = await createTestTenant(t);
    const people: Record<string, string> = {};
    for (const name of ['active', 'grace', 'lapsed', 'withdrawn', 'rejected', 'pending', 'future', 'none']) {
      people[name] = (await verifiedPerson(s)).person_id;
    }
    const ev = async () => evidence(s);
    const c = async (who: string, extra: Record<string, unknown>) => capture(people[who], extra, s);
    await c('active', await ev());
    await backdate((await c('grace', { ...(await ev()), active_until: ahead(DAY) })).consent_id, 11);
    await backdate((await c('lapsed', { ...(await ev()), active_until: ahead(DAY) })).consent_id, 41);
    const w = await c('withdrawn', await ev());
    await post(s.admin.token, `/api/v1/consents/${w.consent_id}/withdraw`, { reason_code: 'USER_REQUEST' });
    const r = await c('rejected', { ...(await ev()), capture_mode: 'offline' });
    await post(s.admin.token, `/api/v1/consents/${r.consent_id}/reject`, { reason_code: 'SCOPE_INVALID' });
    await c('pending', {});
    await c('future', { ...(await ev()), active_from: ahead(DAY) });
    const ids = Object.values(people);
    const states = await consentStates(t.db, s.tenantId, ids, null);
    const values: unknown[] = [];
    const add = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    const cond = consentAllowsSql(add, add(s.tenantId), 'p.id', null);
    const { rows } = await t.db.query<{ id: string; ok: boolean }>(
      `SELECT p.id, ${cond} AS ok FROM persons p WHERE p.id = ANY(${add(ids)}::uuid[])`,
      values,
    );
    const sql = Object.fromEntries(rows.map((x) => [x.id, x.ok]));
    for (const [name, id] of Object.entries(people)) {
      const state = states.get(id) ?? 'none';
      expect(sql[id], `${name} (${state})`).toBe(state === 'active' || state === 'grace');
    }
    // The registration stage in SQL: staff whose role sees a field from registration match a
    // person on it while its best state is active, grace, pending or none; never after it lapsed.
    values.length = 0;
    const stage = `(${consentAllowsSql(add, add(s.tenantId), 'p.id', null)} OR ${registrationSql(add, add(s.tenantId), 'p.id', null)})`;
    const staged = await t.db.query<{ id: string; ok: boolean }>(
      `SELECT p.id, ${stage} AS ok FROM persons p WHERE p.id = ANY(${add(ids)}::uuid[])`,
      values,
    );
    for (const x of staged.rows) {
      const state = states.get(x.id) ?? 'none';
      expect(x.ok, state).toBe(['active', 'grace', 'pending', 'none'].includes(state));
    }
    expect(states.get(people.grace)).toBe('grace');
    expect(states.get(people.lapsed)).toBe('expired');
    expect(states.get(people.future)).toBe('pending');
  });
});

describe('search and lists for consent-bound callers', () => {
  it('fill pages from further rows and never count hidden ones (A, hidden B, C, hidden D, E)', async () => {
    const s = await createTestTenant(t);
    const clerk = await s.client({ roles: ['registrar'], consent_bound: true });
    const staff = await s.client({ roles: ['registrar'] });
    const people: string[] = [];
    for (const letter of ['A', 'B', 'C', 'D', 'E']) {
      people.push((await verifiedPerson(s, { full_name: `Interleaved Kamau ${letter}` })).person_id);
    }
    const [A, , C, , E] = people;
    for (const id of [A, C, E]) await capture(id, await evidence(s), s);
    const ids = (res: { json(): { data: { person_id: string }[] } }) =>
      res.json().data.map((h) => h.person_id);
    for (const base of [
      '/api/v1/persons?limit=2',
      '/api/v1/persons/search?criteria_id=name&criteria_value=interleaved%20kamau&limit=2',
    ]) {
      const page1 = await get(clerk.token, base);
      expect(page1.statusCode, page1.body).toBe(200);
      expect(ids(page1), base).toEqual([A, C]);
      expect(Object.keys(page1.json()).sort()).toEqual(['data', 'next_cursor', 'warnings']);
      expect(page1.json().next_cursor).toBeTruthy();
      const page2 = await get(clerk.token, `${base}&cursor=${page1.json().next_cursor}`);
      expect(ids(page2), base).toEqual([E]);
      expect(page2.json().next_cursor).toBeNull();
    }
    const all = await get(staff.token, '/api/v1/persons?limit=5');
    expect(ids(all)).toEqual(people);
  });
});

/** Routes that carry person data, on every face (native now; V2, DCI and G2P when they land). */
const PERSON_DATA = /^\/(api\/v1\/(persons|households|relationships|consents|attachments)|api\/v2|dci|g2p)/;
/** Non-GET person routes that return no existing person's data (creates and uploads). */
const NO_EXISTING_PERSON = new Set([
  'POST /api/v1/persons',
  'POST /api/v1/attachments',
  'POST /g2p/api/v1/registry/individual',
  'POST /g2p/api/v1/registry/group',
]);

describe('route walk', () => {
  it('no route returns an unconsented person to a consent-bound caller', async () => {
    const w = await createTestTenant(t);
    // Every scope of the tenant, consent-bound by its integration role.
    const caller = await w.client({ roles: ['tenant_admin', 'integration'] });
    const number = `SENTINEL${nid()}`;
    const hidden = await verifiedPerson(w, {
      full_name: 'Qorvath Melinde',
      given_name: 'Qorvathgiven',
      family_name: 'Melindefam',
      identity_number: number,
      birth_place: 'Zyxtown',
      date_of_birth: '1931-03-03',
      address: { text: 'Zyx Lane 9' },
      contacts: [
        { type: 'phone', value: '+254799123456' },
        { type: 'email', value: 'qorvath.sentinel@example.org' },
      ],
    });
    const seen = await verifiedPerson(w, { full_name: 'Qorvath Melindx', date_of_birth: '1931-03-03' });
    await capture(seen.person_id, await evidence(w), w);
    const created = async (url: string, body: unknown) => {
      const res = await post(w.admin.token, url, body);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
      return res.json();
    };
    const hh1 = (
      await created('/api/v1/households', {
        household_name: 'Zyxhold',
        leader_id: hidden.person_id,
        geo_lat: -1.23,
        geo_lon: 36.81,
      })
    ).household_id;
    const hh2 = (
      await created('/api/v1/households', { household_name: 'Seen home', leader_id: seen.person_id })
    ).household_id;
    await created(`/api/v1/households/${hh2}/members`, {
      person_id: hidden.person_id,
      relationship_type: 'member',
      effective_from: '2020-01-01',
    });
    const rel = (
      await created('/api/v1/relationships', {
        person_id: seen.person_id,
        related_person_id: hidden.person_id,
        relationship_type: 'mother',
        effective_from: '2020-01-01',
      })
    ).relationship_id;
    const ev = await evidence(w);
    const pendingConsent = await capture(hidden.person_id, { ...ev, capture_mode: 'offline' }, w);

    const sentinels = [
      'Qorvath Melinde',
      'Qorvathgiven',
      'Melindefam',
      number,
      '+254799123456',
      'qorvath.sentinel',
      'Zyxtown',
      'Zyx Lane',
      'Zyxhold',
      hidden.system_guid as string,
    ];
    /** The body without the echo of the request path, which names the id the caller sent. */
    const bodyOf = (res: { body: string; headers: Record<string, unknown> }) => {
      if (!String(res.headers['content-type'] ?? '').includes('json')) return res.body;
      const { instance: _i, ...rest } = JSON.parse(res.body);
      return JSON.stringify(rest);
    };
    const assertClean = (
      label: string,
      res: { statusCode: number; body: string; headers: Record<string, unknown> },
      path: string,
    ) => {
      expect(res.statusCode, `${label}: ${res.body}`).toBeLessThan(500);
      const body = bodyOf(res);
      for (const s of sentinels) expect(body, `${label} leaks ${s}`).not.toContain(s);
      if (PERSON_DATA.test(path))
        expect(body, `${label} names the hidden person`).not.toContain(hidden.person_id);
    };

    // 1. Every GET route, with its path parameters pointing at the hidden person and its records
    //    (a parameter of unknown meaning, such as a face's `:id`, gets the hidden person's id). On
    //    person routes the answer must equal the answer for missing ids, status and body.
    const missing = '00000000-0000-4000-8000-00000000beef';
    const fill: Record<string, string> = {
      person_id: hidden.person_id,
      household_id: hh1,
      relationship_id: rel,
      consent_id: pendingConsent.consent_id,
      attachment_id: ev.evidence_attachment_ids[0],
      version_id: '1',
    };
    const hiddenIds = Object.entries(fill)
      .filter(([k]) => k !== 'version_id')
      .map(([, v]) => v);
    const normalized = (res: { body: string; headers: Record<string, unknown> }) => {
      let body = bodyOf(res);
      if (String(res.headers['content-type'] ?? '').includes('json')) {
        const { correlation_id: _c, ...rest } = JSON.parse(body);
        body = JSON.stringify(rest);
      }
      for (const id of hiddenIds) body = body.replaceAll(id, missing);
      // Per-response values (message ids, correlation ids, timestamps) differ between any two calls.
      return body
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
        .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>');
    };
    // V2 names registrants by `{system}|{value}`: Hearth's own id, or an identity.
    fill.identifier = encodeURIComponent(`urn:hearth:id:person|${hidden.person_id}`);
    const withIds = (url: string, hiddenOnes: boolean, own = fill) =>
      url.replace(/:([a-z_]+)/g, (_m, name: string) => {
        if (name === 'version_id') return '1';
        const value = own[name] ?? hidden.person_id;
        return hiddenOnes ? value : hiddenIds.reduce((v, id) => v.replaceAll(id, missing), value);
      });
    const routes = t.app.hearth.routes.filter((r) => !(r.auth && 'public' in r.auth && r.auth.public));
    let probed = 0;
    const byIdentity = {
      ...fill,
      identifier: encodeURIComponent(`urn:hearth:vocab:id-type#national_id|${number}`),
    };
    const otherNumber = `MISSING${nid()}`;
    for (const r of routes.filter((x) => x.method === 'GET')) {
      const res = await get(caller.token, withIds(r.url, true));
      assertClean(`GET ${r.url}`, res, r.url);
      const params = [...r.url.matchAll(/:([a-z_]+)/g)].map((m) => m[1]).filter((p) => p !== 'version_id');
      if (!PERSON_DATA.test(r.url) || params.length === 0) continue;
      const twin = await get(caller.token, withIds(r.url, false));
      expect(res.statusCode, `GET ${r.url}: ${res.body}`).toBe(twin.statusCode);
      expect(normalized(res), `GET ${r.url} differs from a missing resource`).toBe(normalized(twin));
      expect(res.statusCode, `GET ${r.url}: ${res.body}`).toBeGreaterThanOrEqual(400);
      probed++;
      if (!params.includes('identifier')) continue;
      // The hidden person's identity number answers like a number nobody holds.
      const byNumber = await get(caller.token, withIds(r.url, true, byIdentity));
      const byOther = await get(caller.token, withIds(r.url, true, byIdentity).replace(number, otherNumber));
      expect(byNumber.statusCode, `GET ${r.url} by identity: ${byNumber.body}`).toBe(byOther.statusCode);
      expect(normalized(byNumber).replaceAll(number, otherNumber), `GET ${r.url} by identity`).toBe(
        normalized(byOther),
      );
    }
    expect(probed).toBeGreaterThanOrEqual(12);

    // 2. Lists and searches where the hidden person would appear next to a visible one.
    const lists = [
      '/api/v1/persons?limit=200',
      '/api/v1/persons?status=all&limit=200',
      '/api/v1/persons/search?criteria_id=name&criteria_value=qorvath',
      `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`,
      '/api/v1/persons/search?criteria_id=phone&criteria_value=%2B254799123456',
      '/api/v1/persons/search?criteria_id=email&criteria_value=qorvath.sentinel%40example.org',
      '/api/v1/persons/search?criteria_id=birth_date&criteria_value=1931-03-03',
      '/api/v1/persons/search?lat=-1.23&lon=36.81&radius_km=5',
      '/api/v1/households/search?lat=-1.23&lon=36.81&radius_km=5',
      '/api/v1/households/search?status=all',
      `/api/v1/households/${hh2}`,
      `/api/v1/households/${hh2}/members?include_ended=true`,
      `/api/v1/households/${hh2}/versions`,
      `/api/v1/persons/${seen.person_id}`,
      `/api/v1/persons/${seen.person_id}/relationships`,
      `/api/v1/persons/${seen.person_id}/duplicates`,
      `/api/v1/persons/${seen.person_id}/versions`,
      `/api/v1/persons/${seen.person_id}/consents`,
    ];
    for (const url of lists) {
      const res = await get(caller.token, url);
      // Without a contract the caller never sees date_of_birth or positions: those searches are refused.
      const refused = url.includes('birth_date') || url.includes('radius_km');
      expect(res.statusCode, `${url}: ${res.body}`).toBe(refused ? 403 : 200);
      assertClean(url, res, url);
    }
    // The probes are meaningful: staff do see the hidden person there.
    for (const url of [lists[2], lists[11], lists[15]]) {
      expect((await get(w.admin.token, url)).body, url).toContain(hidden.person_id);
    }

    // 3. Writes aimed at hidden records are refused exactly like writes aimed at missing ones.
    const renewBody = { active_from: ago(1000), capture_mode: 'online', captured_by: 'x', ...ev };
    const writes: [string, string, string, (id: string) => unknown][] = [
      ['PATCH', '/api/v1/persons/:person_id', hidden.person_id, () => ({ given_name: 'x' })],
      ['POST', '/api/v1/persons/:person_id/verify', hidden.person_id, () => ({})],
      ['POST', '/api/v1/persons/:person_id/archive', hidden.person_id, () => ({ reason_code: 'DATA_ERROR' })],
      ['POST', '/api/v1/persons/:person_id/restore', hidden.person_id, () => ({ reason_code: 'DATA_ERROR' })],
      ['POST', '/api/v1/persons/:person_id/consents', hidden.person_id, () => captureBody(w)],
      ['PATCH', '/api/v1/households/:household_id', hh1, () => ({ household_name: 'y' })],
      ['POST', '/api/v1/households/:household_id/archive', hh1, () => ({ reason_code: 'DATA_ERROR' })],
      ['POST', '/api/v1/households/:household_id/restore', hh1, () => ({ reason_code: 'DATA_ERROR' })],
      [
        'POST',
        '/api/v1/households/:household_id/members',
        hh1,
        () => ({ person_id: seen.person_id, relationship_type: 'member', effective_from: '2021-01-01' }),
      ],
      [
        'POST',
        '/api/v1/households/:household_id/members/:person_id/end',
        hidden.person_id,
        () => ({ effective_until: '2030-01-01', reason_code: 'MOVED' }),
      ],
      ['PATCH', '/api/v1/relationships/:relationship_id', rel, () => ({ verification_status: 'verified' })],
      [
        'POST',
        '/api/v1/relationships/:relationship_id/end',
        rel,
        () => ({ effective_until: '2030-01-01', reason_code: 'MOVED' }),
      ],
      ['POST', '/api/v1/consents/:consent_id/verify', pendingConsent.consent_id, () => ({})],
      [
        'POST',
        '/api/v1/consents/:consent_id/reject',
        pendingConsent.consent_id,
        () => ({ reason_code: 'OTHER', reason_text: 'x' }),
      ],
      [
        'POST',
        '/api/v1/consents/:consent_id/withdraw',
        pendingConsent.consent_id,
        () => ({ reason_code: 'USER_REQUEST' }),
      ],
      ['POST', '/api/v1/consents/:consent_id/renew', pendingConsent.consent_id, () => renewBody],
      ['POST', '/api/v1/consents/:consent_id/expire', pendingConsent.consent_id, () => ({})],
      // Bodies that reference the hidden person: refused like an unknown person.
      [
        'PUT',
        '/g2p/api/v1/registry/update_individual',
        '',
        (id) => [{ updateId: id, name: 'Renamed Person' }],
      ],
      [
        'PUT',
        '/g2p/api/v1/registry/update_group',
        '',
        // The hidden person leads hh1: the group is as invisible as a missing one.
        (id) => [{ updateId: id === hidden.person_id ? hh1 : id, name: 'Renamed Group' }],
      ],
      ['POST', '/api/v1/households', '', (id) => ({ household_name: 'x', leader_id: id })],
      [
        'POST',
        '/api/v1/relationships',
        '',
        (id) => ({
          person_id: seen.person_id,
          related_person_id: id,
          relationship_type: 'guardian',
          effective_from: '2020-01-01',
        }),
      ],
    ];
    const covered = new Set<string>();
    for (const [method, pattern, target, body] of writes) {
      covered.add(`${method} ${pattern}`);
      const at = (id: string) =>
        pattern.replace(':household_id', pattern.endsWith('/end') ? hh2 : id).replace(/:[a-z_]+/, id);
      const inBody = target === '';
      const h = await call(
        t.app,
        caller.token,
        method as 'POST',
        at(target),
        body(inBody ? hidden.person_id : target),
      );
      const m = await call(t.app, caller.token, method as 'POST', at(missing), body(missing));
      const label = `${method} ${pattern}`;
      assertClean(label, h, pattern);
      expect(h.statusCode, `${label}: ${h.body}`).toBeGreaterThanOrEqual(400);
      expect(h.statusCode, label).toBe(m.statusCode);
      const { correlation_id: _a, instance: _b, ...hb } = h.json();
      const { correlation_id: _c, instance: _d, ...mb } = m.json();
      expect(JSON.stringify(hb).replaceAll(hidden.person_id, missing).replaceAll(hh1, missing), label).toBe(
        JSON.stringify(mb),
      );
    }
    covered.add('POST /api/v1/households/:household_id/members/:person_id/end');
    // Member adds naming the hidden person in the body, on a visible household.
    const add = (id: string) =>
      post(caller.token, `/api/v1/households/${hh2}/members`, {
        person_id: id,
        relationship_type: 'member',
        effective_from: '2021-01-01',
      });
    const [ha, ma] = [await add(hidden.person_id), await add(missing)];
    expect(ha.statusCode).toBe(ma.statusCode);
    assertClean('POST members (hidden in body)', ha, '/api/v1/households');

    // 4. Every other non-GET person route (other faces, imports, creates) gets a generic probe: its
    //    path ids point at the hidden records, or at missing ones, with an empty JSON body. The two
    //    answers must be the same and never carry the person. Routes whose deeper logic reads an
    //    existing person belong in the table above, with a real body.
    const generic = routes.filter(
      (r) => r.method !== 'GET' && PERSON_DATA.test(r.url) && !covered.has(`${r.method} ${r.url}`),
    );
    for (const r of generic) {
      const label = `${r.method} ${r.url} (generic)`;
      const method = r.method as 'POST';
      const h = await call(t.app, caller.token, method, withIds(r.url, true), {});
      const m = await call(t.app, caller.token, method, withIds(r.url, false), {});
      assertClean(label, h, r.url);
      expect(h.statusCode, `${label}: ${h.body}`).toBe(m.statusCode);
      expect(normalized(h), label).toBe(normalized(m));
      if (!NO_EXISTING_PERSON.has(`${r.method} ${r.url}`)) {
        expect(h.statusCode, `${label} accepted an empty body: ${h.body}`).toBeGreaterThanOrEqual(400);
      }
    }
    // The hidden person's records are untouched.
    const after = (await get(w.admin.token, `/api/v1/persons/${hidden.person_id}`)).json();
    expect(after).toMatchObject({ version_id: 2, status: 'active' });
    expect((await get(w.admin.token, `/api/v1/consents/${pendingConsent.consent_id}`)).json().status).toBe(
      'pending',
    );
  }, 240_000); // it probes every registered route: minutes on a loaded machine
});
