import { createHash, randomBytes } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { assertSearchable } from '../../access/person-access.js';
import type { Reader } from '../../access/reader.js';
import type { DciConfig } from '../../config.js';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../http/errors.js';
import { uuidv7 } from '../../lib/ids.js';
import { stableStringify } from '../../lib/stable-json.js';
import type { RequestStatus, SubscribeReason, UnsubscribeReason } from './codes.js';
import { matchedFields, parseQuery, QueryRejected, type QueryType } from './query.js';
import { SubscribeItem } from './schemas.js';
import * as repo from './subscription-repo.js';
import { errorMessage, errorPath, schemaErrors } from './validate.js';

/**
 * The registry events one may subscribe to, and the outbox events behind each. A registration
 * becomes visible to a subscriber when its consent does: consent capture and verification are
 * REGISTER triggers too, and a person is announced once per subscription (notify-message.ts).
 */
export const DCI_EVENTS = {
  REGISTER: ['person.created', 'consent.captured', 'consent.verified'],
  UPDATE: ['person.updated', 'person.verified'],
  NewHouseHoldMember: ['membership.added'],
} as const;
export type DciEvent = keyof typeof DCI_EVENTS;

/** `REGISTER`, `spdci-common:RegistryEventType:Register`… → REGISTER; null when unsupported. */
export function eventOf(raw: string): DciEvent | null {
  const name = raw
    .slice(raw.lastIndexOf(':') + 1)
    .trim()
    .toLowerCase();
  for (const e of Object.keys(DCI_EVENTS) as DciEvent[]) if (e.toLowerCase() === name) return e;
  return name === 'registration' || name === 'register' ? 'REGISTER' : null;
}

export type NotifyRecordType = 'SRPerson' | 'Member' | 'Group';

function recordTypeOf(raw: string, event: DciEvent): NotifyRecordType | null {
  const name = raw
    .slice(raw.lastIndexOf(':') + 1)
    .trim()
    .toLowerCase();
  if (name === 'srperson' || name === 'person' || name === 'sr_person') return 'SRPerson';
  if (name === 'member') return 'Member';
  if (name === 'group' && event === 'NewHouseHoldMember') return 'Group';
  return null;
}

function filterTypeOf(declared: string | undefined, filter: unknown): QueryType | 'graphql' {
  if (declared) return declared as QueryType | 'graphql';
  if (Array.isArray(filter)) return 'predicate';
  const f = filter as { value?: { expression?: unknown } } | null;
  return f && typeof f === 'object' && f.value && typeof f.value === 'object' && 'expression' in f.value
    ? 'expression'
    : 'idtype-value';
}

/** What is stored of one subscribe item (no personal data beyond the caller's own filter). */
export interface SubscribeOutcome {
  reference_id: string;
  status: RequestStatus;
  status_reason_code?: SubscribeReason;
  status_reason_message?: string;
  subscription_id?: string;
  locale?: string;
}

function itemReason(errors: ErrorObject[]): { reason: SubscribeReason; message: string } {
  const d = errors.map((e) => ({ path: errorPath(e), message: errorMessage(e) }));
  const pick = (re: RegExp) => d.find((x) => re.test(x.path));
  const ref = pick(/^reference_id/);
  if (ref) return { reason: 'rjct.reference_id.invalid', message: `${ref.path} ${ref.message}` };
  const ts = pick(/^timestamp/);
  if (ts) return { reason: 'rjct.timestamp.invalid', message: `${ts.path} ${ts.message}` };
  const ev = pick(/reg_event_type$/);
  if (ev) return { reason: 'rjct.notify_types.invalid', message: `${ev.path} ${ev.message}` };
  return {
    reason: 'rjct.notify_details.invalid',
    message: `${d[0].path || 'subscribe_request'} ${d[0].message}`,
  };
}

/** A subscribe item checked and parsed, or the reason it is rejected. */
export type PreparedSubscription =
  | { ok: false; outcome: SubscribeOutcome }
  | {
      ok: true;
      item: SubscribeItem;
      event: DciEvent;
      recordType: NotifyRecordType;
      filterType: QueryType;
    };

/**
 * Checks every subscribe item without touching the database: shape, duplicate reference ids,
 * event type, record type, and a filter the subscriber may use (no filter on fields it may not
 * see), and somewhere to send notifications.
 */
export function prepareSubscriptions(
  raw: readonly unknown[],
  reader: Reader,
  config: DciConfig,
  callbackUrl: string | null,
): PreparedSubscription[] {
  const seen = new Set<string>();
  return raw.map((r): PreparedSubscription => {
    const refRaw = (r as { reference_id?: unknown } | null)?.reference_id;
    const reference_id = typeof refRaw === 'string' ? refRaw.slice(0, 99) : '';
    const reject = (reason: SubscribeReason, message: string, locale?: string): PreparedSubscription => ({
      ok: false,
      outcome: {
        reference_id,
        status: 'rjct',
        status_reason_code: reason,
        status_reason_message: message.slice(0, 999),
        ...(locale ? { locale } : {}),
      },
    });
    const errors = schemaErrors(SubscribeItem, r);
    if (errors) {
      const { reason, message } = itemReason(errors);
      return reject(reason, message);
    }
    const item = r as SubscribeItem;
    const c = item.subscribe_criteria;
    if (seen.has(item.reference_id))
      return reject('rjct.reference_id.duplicate', 'reference_id repeats an earlier item', item.locale);
    seen.add(item.reference_id);
    const event = eventOf(c.reg_event_type);
    if (!event) {
      return reject(
        'rjct.notify_types.invalid',
        `reg_event_type must be one of ${Object.keys(DCI_EVENTS).join(', ')}`,
        item.locale,
      );
    }
    const recordType = recordTypeOf(c.notify_record_type, event);
    if (!recordType) {
      return reject(
        'rjct.notify_details.invalid',
        'notify_record_type must be SRPerson or Member (or Group for NewHouseHoldMember)',
        item.locale,
      );
    }
    const filterType = filterTypeOf(c.filter_type, c.filter);
    if (filterType === 'graphql') {
      return reject(
        'rjct.notify_details.invalid',
        'graphql filters are not supported: use idtype-value, expression or predicate',
        item.locale,
      );
    }
    try {
      const { cond } = parseQuery(filterType, c.filter, { entity: 'Member', idTypes: config.idTypes });
      for (const field of matchedFields(cond)) assertSearchable(reader, field);
    } catch (err) {
      if (err instanceof QueryRejected || (err instanceof AppError && err.status === 403)) {
        return reject('rjct.notify_details.invalid', `filter: ${err.message}`, item.locale);
      }
      throw err;
    }
    if (!callbackUrl) {
      return reject(
        'rjct.notify_details.invalid',
        'no callback URL: send header.sender_uri or register a default for this sender',
        item.locale,
      );
    }
    return { ok: true, item, event, recordType, filterType };
  });
}

export interface SubscribeContext {
  tx: Tx;
  tenantId: string;
  clientId: string;
  senderId: string;
  transactionRow: string;
  callbackUrl: string;
}

/** Creates the subscriptions of the prepared items; the same active criteria twice is rejected. */
export async function createSubscriptions(
  ctx: SubscribeContext,
  items: readonly PreparedSubscription[],
): Promise<SubscribeOutcome[]> {
  const out: SubscribeOutcome[] = [];
  for (const p of items) {
    if (!p.ok) {
      out.push(p.outcome);
      continue;
    }
    const { item, event, recordType, filterType } = p;
    const c = item.subscribe_criteria;
    const locale = item.locale ? { locale: item.locale } : {};
    const criteria = {
      reg_event_type: event,
      filter_type: filterType,
      filter: c.filter,
      notify_record_type: recordType,
    };
    const row = await repo.insertSubscription(ctx.tx, {
      tenantId: ctx.tenantId,
      id: uuidv7(),
      code: `sub_${randomBytes(12).toString('base64url')}`,
      clientId: ctx.clientId,
      senderId: ctx.senderId,
      transactionRow: ctx.transactionRow,
      referenceId: item.reference_id,
      eventType: event,
      filterType,
      filter: c.filter,
      notifyRecordType: recordType,
      criteria: {
        ...criteria,
        ...(c.reg_type ? { reg_type: c.reg_type } : {}),
        ...(c.frequency ? { frequency: c.frequency } : {}),
      },
      criteriaHash: createHash('sha256').update(stableStringify(criteria)).digest('hex'),
      locale: item.locale ?? null,
      callbackUrl: ctx.callbackUrl,
    });
    out.push(
      row
        ? { reference_id: item.reference_id, status: 'succ', subscription_id: row.id, ...locale }
        : {
            reference_id: item.reference_id,
            status: 'rjct',
            status_reason_code: 'rjct.event.already_subscribed',
            status_reason_message: 'an active subscription with the same criteria exists',
            ...locale,
          },
    );
  }
  return out;
}

/** SubscriptionInfo of a stored subscription (on-subscribe). */
export function subscriptionInfo(s: repo.SubscriptionRow): Record<string, unknown> {
  return {
    code: s.code,
    status: s.status,
    timestamp: s.created_at.toISOString(),
    ...(typeof s.criteria.reg_type === 'string' ? { reg_type: s.criteria.reg_type } : {}),
    reg_event_type: s.event_type,
    filter_type: s.filter_type,
    filter: s.filter,
    notify_record_type: s.notify_record_type,
    ...(s.locale ? { locale: s.locale } : {}),
  };
}

export interface UnsubscribeOutcome {
  status: RequestStatus;
  status_reason_code?: UnsubscribeReason;
  status_reason_message?: string;
  subscription_status: { code: string; status: 'subscribe' | 'unsubscribe' }[];
}

/**
 * Ends this client's subscriptions by code. Unknown codes, codes of another requester and codes
 * already ended are reported (the first reason as the status reason, all in the message); only
 * the requester's own codes are listed with their status.
 */
export async function unsubscribeCodes(
  tx: Tx,
  tenantId: string,
  clientId: string,
  codes: readonly string[],
): Promise<UnsubscribeOutcome> {
  const unique = [...new Set(codes)];
  const rows = new Map(
    (await repo.findSubscriptionsByCode(tx, tenantId, unique, true)).map((r) => [r.code, r]),
  );
  const problems: { code: string; reason: UnsubscribeReason }[] = [];
  const listed: UnsubscribeOutcome['subscription_status'] = [];
  for (const code of unique) {
    const row = rows.get(code);
    if (!row) {
      problems.push({ code, reason: 'rjct.subscription_code.invalid' });
    } else if (row.client_id !== clientId) {
      problems.push({ code, reason: 'rjct.requester.invalid' });
    } else if (row.status === 'unsubscribe') {
      problems.push({ code, reason: 'rjct.event.already_unsubscribed' });
      listed.push({ code, status: 'unsubscribe' });
    } else {
      await repo.endSubscription(tx, tenantId, row.id);
      listed.push({ code, status: 'unsubscribe' });
    }
  }
  if (problems.length === 0) return { status: 'succ', subscription_status: listed };
  return {
    status: problems.length === unique.length ? 'rjct' : 'succ',
    status_reason_code: problems[0].reason,
    status_reason_message: problems
      .map((p) => `${p.code.slice(0, 99)}: ${p.reason}`)
      .join('; ')
      .slice(0, 999),
    subscription_status: listed,
  };
}
