import type { FastifyBaseLogger } from 'fastify';
import type { ClientCache } from '../../auth/client-cache.js';
import type { KeyStore } from '../../auth/keys.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { EventDispatcher } from '../../events/dispatcher.js';
import type { JobRunner } from '../../jobs/runner.js';
import type { TenantSettingsCache } from '../../tenancy/settings.js';
import { registerCallbackWorker } from './callbacks.js';
import { dciNotifyConsumer } from './notify.js';
import { createOutbound } from './outbound.js';
import { createDciSenderService } from './senders.js';
import { createDciService } from './service.js';
import { purgeMessages } from './txn-repo.js';

export interface DciSetupDeps {
  db: Database;
  config: Config;
  jobs: JobRunner;
  dispatcher: EventDispatcher;
  clientCache: ClientCache;
  settings: TenantSettingsCache;
  keys: KeyStore;
  log: FastifyBaseLogger | null;
}

/** Wires the DCI face: its service, the callback worker, the notify consumer and the replay sweep. */
export function setupDci(deps: DciSetupDeps) {
  const { db, config, jobs, dispatcher, clientCache, settings, keys, log } = deps;
  const outbound = createOutbound(config, keys);
  registerCallbackWorker(jobs, { db, config, clients: clientCache, settings, outbound, log });
  dispatcher.registerConsumer('dci-notify', dciNotifyConsumer(config, log));
  jobs.addPeriodic('dci.replay-purge', 3_600_000, () => purgeMessages(db, config.dci.replayWindowSeconds));
  return {
    service: createDciService({ db, config, settings, outbound, nudge: () => jobs.nudge() }),
    senders: createDciSenderService(db, config),
  };
}
