import { type Cond, matchedFields, parseQuery, QueryRejected } from './query.js';
import { groupRecord, memberRecord, personRecord } from './records.js';
import type { BuiltMessage } from './responses.js';
import { recordContext, type SearchRunContext, scopeOf } from './search.js';
import { matchingIds } from './search-repo.js';
import type { SubscriptionRow } from './subscription-repo.js';
import { findEvent, notifiedBefore } from './txn-repo.js';
import { groupParts, personHouseholds, personViews } from './views.js';

/**
 * The notify message of one event for one subscription, decided at delivery: the person must
 * still match the filter and be one the subscriber may receive now (consent for export: active,
 * no grace period), or nothing is sent.
 */
export async function notifyMessageOf(
  ctx: SearchRunContext,
  sub: SubscriptionRow,
  eventId: string,
  callbackId: string,
): Promise<{ built: BuiltMessage; meta?: Record<string, unknown> } | { skip: string }> {
  const { tx, actor, tenantId, config } = ctx;
  const event = await findEvent(tx, tenantId, eventId);
  const personId = event?.person_id ?? (event?.resource_type === 'person' ? event.resource_id : null);
  if (!event || !personId) return { skip: 'the event names no person' };
  let cond: Cond;
  try {
    cond = parseQuery(sub.filter_type, sub.filter, { entity: 'Member', idTypes: config.idTypes }).cond;
  } catch (err) {
    if (err instanceof QueryRejected)
      return { skip: `the subscription filter is no longer valid: ${err.message}` };
    throw err;
  }
  const matched = matchedFields(cond);
  const hit = await matchingIds(tx, scopeOf(actor, tenantId, config), 'Member', cond, [personId]);
  if (!hit.has(personId)) return { skip: 'the person does not match the filter or may not be sent' };
  const views = await personViews(tx, actor, tenantId, [personId], 'export', matched);
  if (views.length === 0) return { skip: 'the person may not be sent' };
  if (sub.event_type === 'REGISTER') {
    // Announced once, and only registrations made since the subscription.
    if (new Date(views[0].created_at).getTime() < sub.created_at.getTime()) {
      return { skip: 'the person was registered before the subscription' };
    }
    if (await notifiedBefore(tx, tenantId, sub.id, personId))
      return { skip: 'the registration was already notified' };
  }
  const rctx = recordContext(config);
  let record: Record<string, unknown>;
  if (sub.notify_record_type === 'Group') {
    const groups = await groupParts(tx, actor, tenantId, [event.resource_id], 'export', []);
    if (groups.length === 0) return { skip: 'the household may not be sent' };
    record = groupRecord(groups[0], rctx);
  } else {
    const households = (await personHouseholds(tx, actor, tenantId, views, 'export')).get(personId) ?? [];
    record =
      sub.notify_record_type === 'Member'
        ? memberRecord(views[0], rctx, null, null, households)
        : personRecord(views[0], rctx, households);
  }
  const dciEvent = sub.event_type;
  const item = {
    reference_id: callbackId,
    timestamp: new Date(event.occurred_at).toISOString(),
    data: {
      version: '1.0.0',
      reg_type:
        typeof sub.criteria.reg_type === 'string' ? sub.criteria.reg_type : 'ns:org:RegistryType:Social',
      // The contract's enum knows only these two; updates say so in the header's meta.
      ...(dciEvent === 'REGISTER' || dciEvent === 'NewHouseHoldMember' ? { reg_event_type: dciEvent } : {}),
      reg_record_type: sub.notify_record_type,
      reg_records: record,
    },
    ...(sub.locale ? { locale: sub.locale } : {}),
  };
  return {
    built: {
      message: { transaction_id: sub.code, notify_event: [item] },
      status: 'succ',
      total: 1,
      completed: 1,
    },
    meta: { subscription_code: sub.code, reg_event_type: dciEvent },
  };
}
