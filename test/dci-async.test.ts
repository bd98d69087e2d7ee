import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import {
  callbackReceiver,
  dciPost,
  expectDciError,
  header,
  idQuery,
  now,
  predicateQuery,
  SENDER,
  searchEnvelope,
  searchItem,
  txnStatusEnvelope,
} from './helpers/dci-client.js';
import { contractedIntegration } from './helpers/integration.js';
import { createPerson, grantConsent, nid } from './helpers/registry.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

const SEARCH = '/dci/registry/search';
const TXN = '/dci/registry/txn/status';
const SYNC_TXN = '/dci/registry/sync/txn/status';
const SUBSCRIBE = '/dci/registry/subscribe';
const UNSUBSCRIBE = '/dci/registry/unsubscribe';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let dci: { clientId: string; secret: string; token: string };
let receiver: Awaited<ReturnType<typeof callbackReceiver>>;
const amina = { person_id: '', nid: nid() };

/** Runs what the workers would: dispatch committed outbox events, then every due job. */
async function work() {
  await t.app.hearth.services.dispatcher.dispatchPending();
  await t.app.hearth.services.jobs.drain();
}

beforeAll(async () => {
  t = await createTestApp({
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
    HEARTH_WEBHOOK_MAX_ATTEMPTS: '3',
    HEARTH_WEBHOOK_RETRY_BASE_MS: '1000',
    HEARTH_DCI_PARTICIPANT_ID: 'registry.example.org',
  });
  const settings = { field_classification: { 'identities.identity_number': 'personal' } };
  [a, b] = await Promise.all([createTestTenant(t, settings), createTestTenant(t, settings)]);
  dci = await contractedIntegration(t, a);
  receiver = await callbackReceiver();
  const created = await createPerson(t.app, a.admin.token, {
    full_name: 'Amina Wanjiru',
    given_name: 'Amina',
    gender: '2',
    identity_number: amina.nid,
  });
  amina.person_id = created.person_id;
  await grantConsent(t.app, a.admin.token, amina.person_id, a.verticals.HEALTH);
  await work();
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

describe('DCI async search', () => {
  it('ACKs at once, then POSTs on-search to sender_uri with the same transaction and correlation ids', async () => {
    const env = searchEnvelope([searchItem(idQuery('UIN', amina.nid))], {
      sender_uri: receiver.url('/cb/on-search'),
    });
    const ack = await dciPost(t.app, dci.token, SEARCH, env);
    expect(ack.statusCode, ack.body).toBe(200);
    const { message } = ack.json();
    expect(message).toMatchObject({ ack_status: 'ACK' });
    expect(receiver.ofAction('on-search')).toHaveLength(0);
    await work();
    const got = receiver.ofAction('on-search');
    expect(got).toHaveLength(1);
    expect(receiver.problems).toEqual([]);
    const cb = got[0];
    expect(cb.path).toBe('/cb/on-search');
    expect(cb.body.header).toMatchObject({
      action: 'on-search',
      status: 'succ',
      sender_id: 'registry.example.org',
      receiver_id: SENDER,
    });
    expect(cb.body.message.transaction_id).toBe(env.message.transaction_id);
    expect(cb.body.message.correlation_id).toBe(message.correlation_id);
    const items = cb.body.message.search_response as {
      reference_id: string;
      data: { reg_records: { identifier: unknown[] }[] };
    }[];
    expect(items[0].reference_id).toBe(env.message.search_request[0].reference_id);
    expect(items[0].data.reg_records[0].identifier).toContainEqual({
      identifier_type: 'UIN',
      identifier_value: amina.nid,
    });
    expect(cb.body.signature).toMatch(/^Signature: .*kidId="registry\.example\.org\|/);
    // The callback carries our bearer token, verifiable with our published keys.
    const jwks = (await t.app.inject({ method: 'GET', url: '/dci/.well-known/jwks.json' })).json();
    const token = cb.authorization!.replace(/^Bearer /, '');
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      audience: SENDER,
      issuer: t.config.publicUrl,
    });
    expect(payload.sub).toBe('registry.example.org');

    // The stored transaction answers txn/status later, sync or async.
    const sync = await dciPost(
      t.app,
      dci.token,
      SYNC_TXN,
      txnStatusEnvelope('correlation_id', message.correlation_id),
    );
    expect(sync.json().message.txnstatus_response.txn_status.search_response[0].status).toBe('succ');
    const asyncStatus = await dciPost(
      t.app,
      dci.token,
      TXN,
      txnStatusEnvelope('transaction_id', env.message.transaction_id, 'search', {
        sender_uri: receiver.url('/cb/txn/on-status'),
      }),
    );
    expect(asyncStatus.json().message.ack_status).toBe('ACK');
    await work();
    const status = receiver.ofAction('txn-on-status');
    expect(status).toHaveLength(1);
    expect(receiver.problems).toEqual([]);
    const txnStatus = (
      status[0].body.message.txnstatus_response as { txn_status: { correlation_id: string } }
    ).txn_status;
    expect(txnStatus.correlation_id).toBe(message.correlation_id);
    const unknown = await dciPost(
      t.app,
      dci.token,
      TXN,
      txnStatusEnvelope('transaction_id', 'never-sent', 'search', {
        sender_uri: receiver.url('/cb/txn/on-status'),
      }),
    );
    expect(unknown.statusCode).toBe(200);
    await work();
    const last = receiver.ofAction('txn-on-status').at(-1)!;
    const lastStatus = (
      last.body.message.txnstatus_response as { txn_status: { search_response: { status: string }[] } }
    ).txn_status;
    expect(lastStatus.search_response[0].status).toBe('rjct');
  });

  it('a duplicate message_id is refused and calls back only once; invalid messages get ERR', async () => {
    const before = receiver.ofAction('on-search').length;
    const env = searchEnvelope([searchItem(idQuery('UIN', amina.nid))], {
      sender_uri: receiver.url('/cb/on-search'),
    });
    expect((await dciPost(t.app, dci.token, SEARCH, env)).json().message.ack_status).toBe('ACK');
    const again = await dciPost(t.app, dci.token, SEARCH, env);
    const err = expectDciError(again, 409, 'err.request.bad');
    expect(err.header.status_reason_code).toBe('rjct.message_id.duplicate');
    await work();
    expect(receiver.ofAction('on-search').length).toBe(before + 1);

    // Every item invalid: nothing to call back about, ERR at once.
    const badTs = searchEnvelope(
      [{ ...searchItem(idQuery('UIN', amina.nid)), timestamp: 'not-a-timestamp' }],
      {
        sender_uri: receiver.url('/cb/on-search'),
      },
    );
    const refused = expectDciError(
      await dciPost(t.app, dci.token, SEARCH, badTs, { invalidRequest: true }),
      400,
      'err.request.bad',
    );
    expect(refused.errors[1].code).toBe('rjct.timestamp.invalid');
    const badPage = searchEnvelope(
      [searchItem(idQuery('UIN', amina.nid, { pagination: { page_size: 0, page_number: 1 } }))],
      {
        sender_uri: receiver.url('/cb/on-search'),
      },
    );
    expectDciError(await dciPost(t.app, dci.token, SEARCH, badPage), 400, 'err.request.bad');
    const badUri = searchEnvelope([searchItem(idQuery('UIN', amina.nid))], {
      sender_uri: 'ftp://files.example.org/cb',
    });
    expectDciError(await dciPost(t.app, dci.token, SEARCH, badUri), 400, 'err.sender_uri.invalid');
    const longTxn = searchEnvelope([searchItem(idQuery('UIN', amina.nid))]);
    longTxn.message.transaction_id = 'x'.repeat(100);
    expectDciError(
      await dciPost(t.app, dci.token, SEARCH, longTxn, { invalidRequest: true }),
      422,
      'err.request.bad',
    );
    await work();
    expect(receiver.ofAction('on-search').length).toBe(before + 1);
  });

  it('a mixed batch is ACKed and each item answered on its own in the callback', async () => {
    const env = searchEnvelope(
      [
        searchItem(idQuery('UIN', amina.nid)),
        searchItem(
          predicateQuery([
            { expression1: { attribute_name: 'income', operator: 'gt', attribute_value: '1' } },
          ]),
        ),
      ],
      { sender_uri: receiver.url('/cb/mixed') },
    );
    expect((await dciPost(t.app, dci.token, SEARCH, env)).json().message.ack_status).toBe('ACK');
    await work();
    const cb = receiver.received.filter((r) => r.path === '/cb/mixed');
    expect(cb).toHaveLength(1);
    const rows = cb[0].body.message.search_response as { status: string; status_reason_code?: string }[];
    expect(rows.map((r) => r.status_reason_code ?? r.status)).toEqual([
      'succ',
      'rjct.search_criteria.invalid',
    ]);
    expect(cb[0].body.header).toMatchObject({ status: 'succ', total_count: 2, completed_count: 2 });
  });

  it('without sender_uri: the registered default callback, or NACK and the result kept for txn/status', async () => {
    const nack = await dciPost(
      t.app,
      dci.token,
      SEARCH,
      searchEnvelope([searchItem(idQuery('UIN', amina.nid))]),
    );
    expect(nack.json().message.ack_status).toBe('NACK');
    await work();
    const kept = await dciPost(
      t.app,
      dci.token,
      SYNC_TXN,
      txnStatusEnvelope('correlation_id', nack.json().message.correlation_id),
    );
    expect(kept.json().message.txnstatus_response.txn_status.search_response[0].status).toBe('succ');

    const put = await call(t.app, a.admin.token, 'PUT', `/api/v1/dci/senders/${dci.clientId}`, {
      sender_id: SENDER,
      callback_url: receiver.url('/default/callback'),
    });
    expect(put.statusCode, put.body).toBe(200);
    const ack = await dciPost(
      t.app,
      dci.token,
      SEARCH,
      searchEnvelope([searchItem(idQuery('UIN', amina.nid))]),
    );
    expect(ack.json().message.ack_status).toBe('ACK');
    await work();
    expect(receiver.received.filter((r) => r.path === '/default/callback')).toHaveLength(1);
  });

  it('retries a failed callback with backoff and logs every attempt', async () => {
    receiver.answer(503);
    const env = searchEnvelope([searchItem(idQuery('UIN', amina.nid))], {
      sender_uri: receiver.url('/cb/flaky'),
    });
    const ack = (await dciPost(t.app, dci.token, SEARCH, env)).json().message;
    await work();
    const { rows: first } = await t.db.query<{ id: string; status: string; attempts: number }>(
      'SELECT id, status, attempts FROM dci_callbacks WHERE transaction_row = $1',
      [ack.correlation_id],
    );
    expect(first[0]).toMatchObject({ status: 'pending', attempts: 1 });
    const { rows: jobs } = await t.db.query<{ run_at: Date; status: string }>(
      `SELECT run_at, status FROM jobs WHERE kind = 'dci.callback' AND payload->>'callback_id' = $1`,
      [first[0].id],
    );
    expect(jobs[0].status).toBe('queued');
    expect(jobs[0].run_at.getTime()).toBeGreaterThan(Date.now());
    receiver.answer(200);
    await t.db.query(
      `UPDATE jobs SET run_at = now() WHERE kind = 'dci.callback' AND payload->>'callback_id' = $1`,
      [first[0].id],
    );
    await work();
    const { rows: attempts } = await t.db.query<{
      attempt: number;
      status_code: number | null;
      error: string | null;
    }>(
      'SELECT attempt, status_code, error FROM dci_callback_attempts WHERE callback_id = $1 ORDER BY attempt',
      [first[0].id],
    );
    expect(attempts.map((x) => x.status_code)).toEqual([503, 200]);
    expect(attempts[1].error).toBeNull();
    const delivered = receiver.received.filter((r) => r.path === '/cb/flaky');
    // Both attempts carried the same message id.
    expect(new Set(delivered.map((d) => d.body.header.message_id)).size).toBe(1);
  });
});

describe('DCI subscribe, notify, unsubscribe', () => {
  const subscribeEnvelope = (criteria: Record<string, unknown>, path = '/cb/subs') => ({
    header: header('subscribe', 1, { sender_uri: receiver.url(path) }),
    message: {
      transaction_id: `txn-${randomUUID()}`,
      subscribe_request: [
        { reference_id: `ref-${randomUUID()}`, timestamp: now(), subscribe_criteria: criteria },
      ],
    },
  });
  const women = {
    reg_event_type: 'REGISTER',
    filter_type: 'predicate',
    filter: [{ expression1: { attribute_name: 'sex', operator: 'eq', attribute_value: 'female' } }],
    notify_record_type: 'SRPerson',
  };

  it('subscribe → register a matching person → notify → unsubscribe → no further notify', async () => {
    const ack = await dciPost(t.app, dci.token, SUBSCRIBE, subscribeEnvelope(women));
    expect(ack.json().message.ack_status).toBe('ACK');
    await work();
    const onSub = receiver.received.filter(
      (r) => r.path === '/cb/subs' && r.body.header.action === 'on-subscribe',
    );
    expect(onSub).toHaveLength(1);
    expect(receiver.problems).toEqual([]);
    const response = (
      onSub[0].body.message.subscribe_response as {
        status: string;
        subscriptions: { code: string; status: string }[];
      }[]
    )[0];
    expect(response.status).toBe('succ');
    const code = response.subscriptions[0].code;
    expect(response.subscriptions[0].status).toBe('subscribe');

    // The same criteria again: already subscribed.
    await dciPost(t.app, dci.token, SUBSCRIBE, subscribeEnvelope(women));
    await work();
    const again = receiver.received
      .filter((r) => r.path === '/cb/subs' && r.body.header.action === 'on-subscribe')
      .at(-1)!;
    expect(
      (again.body.message.subscribe_response as { status_reason_code: string }[])[0].status_reason_code,
    ).toBe('rjct.event.already_subscribed');

    // A matching, consented person: one notify with the record.
    const number = nid();
    const fatuma = await createPerson(t.app, a.admin.token, {
      full_name: 'Fatuma Ali',
      gender: '2',
      identity_number: number,
    });
    await grantConsent(t.app, a.admin.token, fatuma.person_id, a.verticals.HEALTH);
    // A man (filter does not match) and an unconsented woman (never notified).
    await createPerson(t.app, a.admin.token, { full_name: 'Juma Said', gender: '1' });
    await createPerson(t.app, a.admin.token, { full_name: 'Zawadi Unseen', gender: '2' });
    // A matching woman of another tenant.
    const other = await createPerson(t.app, b.admin.token, { full_name: 'Other Tenant', gender: '2' });
    await grantConsent(t.app, b.admin.token, other.person_id, b.verticals.HEALTH);
    await work();
    const notes = receiver.ofAction('notify');
    expect(receiver.problems).toEqual([]);
    expect(notes).toHaveLength(1);
    const event = (
      notes[0].body.message.notify_event as {
        data: { reg_event_type: string; reg_records: { identifier: unknown[] } };
      }[]
    )[0];
    expect(event.data.reg_event_type).toBe('REGISTER');
    expect(event.data.reg_records.identifier).toContainEqual({
      identifier_type: 'UIN',
      identifier_value: number,
    });
    expect(notes[0].body.message.transaction_id).toBe(code);
    expect(notes[0].path).toBe('/cb/subs');

    // Registered first, consented later: announced once, when the consent makes the person visible.
    const late = await createPerson(t.app, a.admin.token, { full_name: 'Late Consent', gender: '2' });
    await work();
    expect(receiver.ofAction('notify')).toHaveLength(1);
    await grantConsent(t.app, a.admin.token, late.person_id, a.verticals.HEALTH);
    await work();
    const lateNotes = receiver.ofAction('notify');
    expect(lateNotes).toHaveLength(2);
    const lateRecord = (
      lateNotes[1].body.message.notify_event as { data: { reg_records: { identifier: unknown[] } } }[]
    )[0].data.reg_records;
    expect(lateRecord.identifier).toContainEqual({
      identifier_type: 'HEARTH_PERSON_ID',
      identifier_value: late.person_id,
    });
    const { rows: skipped } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM dci_callbacks WHERE action = 'notify' AND status = 'skipped' AND person_id = $1`,
      [late.person_id],
    );
    expect(skipped[0].n).toBeGreaterThan(0);

    // Unsubscribe: on-unsubscribe, then no more notifications.
    const unsub = await dciPost(t.app, dci.token, UNSUBSCRIBE, {
      header: header('unsubscribe', 1, { sender_uri: receiver.url('/cb/unsub') }),
      message: { transaction_id: `txn-${randomUUID()}`, timestamp: now(), subscription_codes: [code] },
    });
    expect(unsub.json().message.ack_status).toBe('ACK');
    await work();
    const onUnsub = receiver.ofAction('on-unsubscribe').at(-1)!;
    expect(onUnsub.body.message).toMatchObject({
      status: 'succ',
      subscription_status: [{ code, status: 'unsubscribe' }],
    });
    const later = await createPerson(t.app, a.admin.token, { full_name: 'Later Woman', gender: '2' });
    await grantConsent(t.app, a.admin.token, later.person_id, a.verticals.HEALTH);
    await work();
    expect(receiver.ofAction('notify')).toHaveLength(2);
  });

  it('unknown, foreign and ended codes are ACKed and rejected in on-unsubscribe', async () => {
    const other = await contractedIntegration(t, a);
    await dciPost(
      t.app,
      other.token,
      SUBSCRIBE,
      subscribeEnvelope({ ...women, reg_event_type: 'UPDATE' }, '/cb/other'),
    );
    await work();
    const theirs = receiver.received.filter(
      (r) => r.path === '/cb/other' && r.body.header.action === 'on-subscribe',
    )[0];
    const code = (theirs.body.message.subscribe_response as { subscriptions: { code: string }[] }[])[0]
      .subscriptions[0].code;
    const unsubscribe = async (codes: string[]) => {
      const res = await dciPost(t.app, dci.token, UNSUBSCRIBE, {
        header: header('unsubscribe', 1, { sender_uri: receiver.url('/cb/unsub') }),
        message: { transaction_id: `txn-${randomUUID()}`, timestamp: now(), subscription_codes: codes },
      });
      expect(res.json().message.ack_status).toBe('ACK');
      await work();
      return receiver.ofAction('on-unsubscribe').at(-1)!.body.message;
    };
    expect(await unsubscribe(['sub_does_not_exist'])).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.subscription_code.invalid',
    });
    expect(await unsubscribe([code])).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.requester.invalid',
      subscription_status: [],
    });
    const tooLong = await dciPost(
      t.app,
      dci.token,
      UNSUBSCRIBE,
      {
        header: header('unsubscribe', 1),
        message: {
          transaction_id: `txn-${randomUUID()}`,
          timestamp: now(),
          subscription_codes: ['c'.repeat(100)],
        },
      },
      { invalidRequest: true },
    );
    expectDciError(tooLong, 422, 'err.request.bad');
    const at99 = await dciPost(t.app, dci.token, UNSUBSCRIBE, {
      header: header('unsubscribe', 1),
      message: {
        transaction_id: `txn-${randomUUID()}`,
        timestamp: now(),
        subscription_codes: ['c'.repeat(99)],
      },
    });
    // 99 characters is a valid code (unknown here): ACKed, to the default callback registered above.
    expect(at99.json().message.ack_status).toBe('ACK');
  });

  it('refuses subscriptions that cannot be honoured', async () => {
    const noTz = subscribeEnvelope(women);
    noTz.message.subscribe_request[0].timestamp = '2024-01-15T10:30:00';
    const refused = expectDciError(
      await dciPost(t.app, dci.token, SUBSCRIBE, noTz, { invalidRequest: true }),
      400,
      'err.request.bad',
    );
    expect(refused.errors[1].code).toBe('rjct.timestamp.invalid');
    const badEvent = expectDciError(
      await dciPost(
        t.app,
        dci.token,
        SUBSCRIBE,
        subscribeEnvelope({ ...women, reg_event_type: 'LiveBirth' }),
      ),
      400,
      'err.request.bad',
    );
    expect(badEvent.errors[1].code).toBe('rjct.notify_types.invalid');
    const badFilter = expectDciError(
      await dciPost(
        t.app,
        dci.token,
        SUBSCRIBE,
        subscribeEnvelope({
          ...women,
          filter: [{ expression1: { attribute_name: 'salary', operator: 'gt', attribute_value: '1' } }],
        }),
      ),
      400,
      'err.request.bad',
    );
    expect(badFilter.errors[1].code).toBe('rjct.notify_details.invalid');
  });
});
