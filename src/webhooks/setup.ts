import type { FastifyBaseLogger } from 'fastify';
import type { ClientCache } from '../auth/client-cache.js';
import { systemActor } from '../auth/principal.js';
import type { WebhookConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { EventDispatcher } from '../events/dispatcher.js';
import type { JobRunner } from '../jobs/runner.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { createDeliveryWorker, type DeliveryOptions } from './delivery.js';
import * as repo from './repo.js';
import { purgeExpired } from './retention.js';
import { createWebhookService } from './service.js';

export interface WebhookSetupDeps {
  db: Database;
  config: WebhookConfig;
  jobs: JobRunner;
  dispatcher: EventDispatcher;
  clientCache: ClientCache;
  settings: TenantSettingsCache;
  log: FastifyBaseLogger | null;
}

/** Periodic task that sends due deliveries (every 250 ms while workers run). */
export const DELIVERY_TASK = 'webhooks.deliver';
/** Periodic task for stranded waiting deliveries and automatic key rotation (every minute). */
export const MAINTENANCE_TASK = 'webhooks.maintain';
/** Periodic task deleting old finished deliveries and dispatched outbox events (every 10 minutes). */
export const RETENTION_TASK = 'webhooks.retention';

/**
 * Wires webhooks into the app: the subscription service, the dispatcher consumer, the delivery
 * sweep, the maintenance sweep and the retention sweep of deliveries and outbox events (periodic
 * tasks of the job runner, so they run in the server with HEARTH_WORKERS=true and in
 * `hearth worker`). Returns the service the routes call.
 */
export function setupWebhooks(deps: WebhookSetupDeps) {
  const { db, config, jobs, dispatcher, log } = deps;
  const worker = createDeliveryWorker(deps);
  const service = createWebhookService({ db, config });

  dispatcher.registerConsumer('webhooks', worker.consume);
  jobs.addPeriodic(DELIVERY_TASK, 250, () => worker.runDue());
  // New deliveries go out as soon as their events are dispatched, not at the next tick.
  dispatcher.onDispatched(() => void jobs.runPeriodic(DELIVERY_TASK));

  /** Rotates keys older than HEARTH_WEBHOOK_KEY_ROTATION_DAYS (secrets rotate automatically). */
  async function rotateOldKeys(): Promise<number> {
    if (config.keyRotationDays === 0) return 0;
    let n = 0;
    for (const w of await repo.webhooksWithOldKeys(db, config.keyRotationDays, 100)) {
      const actor = systemActor(w.tenant_id, 'system:webhook-key-rotation');
      await db.transaction(
        async (tx) => {
          const current = await repo.findWebhook(tx, w.tenant_id, w.integration_id, w.id, true);
          if (current?.status === 'active') {
            await service.rotateIn(tx, actor, current, 'ROUTINE_REVIEW');
            n++;
          }
        },
        { tenantId: w.tenant_id },
      );
    }
    return n;
  }

  jobs.addPeriodic(MAINTENANCE_TASK, 60_000, async () => {
    const promoted = await worker.promoteStranded();
    const rotated = await rotateOldKeys();
    if (promoted + rotated > 0) log?.info({ promoted, rotated }, 'webhook maintenance');
  });

  /** Deletes finished deliveries and dispatched events past their retention (docs/decisions/0046). */
  const purgeRetained = () =>
    purgeExpired(db, { outboxDays: config.outboxRetentionDays, deliveryDays: config.deliveryRetentionDays });

  jobs.addPeriodic(RETENTION_TASK, 600_000, async () => {
    const purged = await purgeRetained();
    if (purged.deliveries + purged.events + purged.callbacks > 0)
      log?.info(purged, 'webhook, DCI callback and outbox retention');
  });

  return {
    ...service,
    rotateOldKeys,
    promoteStranded: worker.promoteStranded,
    purgeRetained,
    /** Sends what is due now (tests, benchmarks; the periodic task does this in production). */
    deliverDue: (options?: DeliveryOptions) => worker.runDue(options),
  };
}

export type Webhooks = ReturnType<typeof setupWebhooks>;
