import { readerOf } from '../../access/reader.js';
import type { Actor } from '../../auth/principal.js';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/database.js';
import { requireTenant, tenantTx } from '../../db/tx.js';
import type { TenantSettingsCache } from '../../tenancy/settings.js';
import { queueCallback } from './callbacks.js';
import { dciActor } from './gate.js';
import type { Outbound } from './outbound.js';
import type { MsgHeader } from './schemas.js';
import type { SearchRunContext } from './search.js';
import type { CallbackAction } from './txn-repo.js';

export interface DciServiceDeps {
  db: Database;
  config: Config;
  settings: TenantSettingsCache;
  outbound: Outbound;
  /** Wakes the job runner after a commit that queued callbacks. */
  nudge: () => void;
}

export type Envelope = Record<string, unknown>;

/** What every DCI endpoint shares: the DCI actor in a tenant transaction, signing, run contexts. */
export function endpointKit(deps: DciServiceDeps) {
  const { db, config, outbound } = deps;
  return {
    deps,
    config,
    dci: config.dci,

    async runContext(tx: Tx, actor: Actor, tenantId: string): Promise<SearchRunContext> {
      return {
        tx,
        actor,
        tenantId,
        config: config.dci,
        reader: await readerOf(tx, actor, tenantId),
      };
    },

    signed(header: Record<string, unknown>, message: Record<string, unknown>): Envelope {
      return outbound.sign({ header, message });
    },

    /** Runs as the DCI reading of the caller (consent-bound), in its tenant's transaction. */
    withTenant<T>(actor0: Actor, fn: (tx: Tx, actor: Actor, tenantId: string) => Promise<T>): Promise<T> {
      const actor = dciActor(actor0);
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, (tx) => fn(tx, actor, tenantId));
    },

    /** Queues the callback that answers transaction `transactionRow` (its job retries it). */
    async callBack(
      tx: Tx,
      actor: Actor,
      tenantId: string,
      action: CallbackAction,
      targetUrl: string,
      transactionRow: string,
    ): Promise<void> {
      await queueCallback(tx, {
        tenantId,
        clientId: actor.principal.clientId,
        action,
        targetUrl,
        transactionRow,
        maxAttempts: config.webhooks.maxAttempts,
      });
    },

    txnBase(actor: Actor, tenantId: string, header: MsgHeader) {
      return {
        tenantId,
        clientId: actor.principal.clientId,
        senderId: header.sender_id,
        messageId: header.message_id,
      };
    },
  };
}

export type EndpointKit = ReturnType<typeof endpointKit>;
