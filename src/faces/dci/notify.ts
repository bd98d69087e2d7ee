import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/database.js';
import type { EventConsumer, OutboxEvent } from '../../events/dispatcher.js';
import { queueCallback } from './callbacks.js';
import { parseQuery, QueryRejected } from './query.js';
import { matchingIds } from './search-repo.js';
import { DCI_EVENTS, type DciEvent } from './subscribe.js';
import { activeSubscriptions } from './subscription-repo.js';

const EVENT_OF = new Map<string, DciEvent>();
for (const [dci, types] of Object.entries(DCI_EVENTS) as [DciEvent, readonly string[]][]) {
  for (const t of types) EVENT_OF.set(t, dci);
}

/**
 * The outbox consumer of DCI subscriptions: each committed registry event that a subscription's
 * event type and filter match becomes one notify callback (row and job in the dispatch
 * transaction, so exactly once per subscription and event). The filter is matched here without
 * consent, to keep the queue small; consent, masking and the filter are decided again when the
 * callback is sent, so nothing leaves for a person who may not be notified.
 */
export function dciNotifyConsumer(config: Config, log: FastifyBaseLogger | null): EventConsumer {
  const [ext, field] = config.dci.povertyScoreField.split('.');
  return async (tx: Tx, events: readonly OutboxEvent[]) => {
    const relevant = events.filter(
      (e) => EVENT_OF.has(e.type) && (e.person_id || e.resource_type === 'person'),
    );
    if (relevant.length === 0) return;
    const tenants = [...new Set(relevant.map((e) => e.tenant_id))];
    const dciEvents = [...new Set(relevant.map((e) => EVENT_OF.get(e.type)!))];
    const subscriptions = await activeSubscriptions(tx, tenants, dciEvents);
    for (const sub of subscriptions) {
      const mine = relevant.filter(
        (e) =>
          e.tenant_id === sub.tenant_id &&
          EVENT_OF.get(e.type) === sub.event_type &&
          new Date(e.occurred_at).getTime() >= sub.created_at.getTime(),
      );
      if (mine.length === 0) continue;
      let cond: ReturnType<typeof parseQuery>['cond'];
      try {
        cond = parseQuery(sub.filter_type, sub.filter, {
          entity: 'Member',
          idTypes: config.dci.idTypes,
        }).cond;
      } catch (err) {
        // A filter accepted at subscribe time no longer parses (the identifier types changed).
        if (!(err instanceof QueryRejected)) throw err;
        log?.warn({ subscription: sub.code, err: err.message }, 'DCI subscription filter no longer valid');
        continue;
      }
      const personOf = (e: OutboxEvent) => e.person_id ?? e.resource_id;
      const hits = await matchingIds(
        tx,
        { tenantId: sub.tenant_id, povertyPath: [ext, field] },
        'Member',
        cond,
        [...new Set(mine.map(personOf))],
      );
      for (const e of mine) {
        if (!hits.has(personOf(e))) continue;
        await queueCallback(tx, {
          tenantId: sub.tenant_id,
          clientId: sub.client_id,
          action: 'notify',
          targetUrl: sub.callback_url,
          subscriptionId: sub.id,
          eventId: e.event_id,
          personId: personOf(e),
          maxAttempts: config.webhooks.maxAttempts,
        });
      }
    }
  };
}
