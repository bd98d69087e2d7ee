import type { FastifyBaseLogger } from 'fastify';
import { readerOf } from '../../access/reader.js';
import { assertClientUsable, currentScopes, principalOf } from '../../auth/authenticator.js';
import type { ClientCache } from '../../auth/client-cache.js';
import type { Actor } from '../../auth/principal.js';
import type { Config } from '../../config.js';
import type { Database, Queryable, Tx } from '../../db/database.js';
import { backoffDelayMs, enqueueJob, type Job } from '../../jobs/queue.js';
import { type JobRunner, PermanentJobError } from '../../jobs/runner.js';
import { uuidv7 } from '../../lib/ids.js';
import type { TenantSettingsCache } from '../../tenancy/settings.js';
import type { DciAction } from './codes.js';
import { batchStatus, replyHeader } from './envelope.js';
import { dciActor } from './gate.js';
import { notifyMessageOf } from './notify-message.js';
import type { Outbound } from './outbound.js';
import {
  type BuiltMessage,
  searchResponseOf,
  subscribeResponseOf,
  txnStatusResponseOf,
  unsubscribeResponseOf,
} from './responses.js';
import type { TxnStatusMessage } from './schemas.js';
import { outcomeOf, prepareSearchItems, runSearch, type SearchRunContext } from './search.js';
import { findSubscription } from './subscription-repo.js';
import * as repo from './txn-repo.js';

/**
 * Callbacks to DCI callers (on-search, txn-on-status, on-subscribe, on-unsubscribe, notify): a
 * row and a job written in the request's (or the outbox batch's) transaction; the job builds the
 * message at delivery time, as the caller may see it then, signs it and POSTs it through the
 * SSRF guard, logging every attempt and retrying with backoff (docs/decisions/0066).
 */

export const CALLBACK_JOB = 'dci.callback';

export interface QueueOptions {
  tenantId: string;
  clientId: string;
  action: repo.CallbackAction;
  targetUrl: string;
  transactionRow?: string;
  subscriptionId?: string;
  eventId?: string;
  personId?: string;
  maxAttempts: number;
}

/** A callback and its job, in the caller's transaction; false when it already exists (notify). */
export async function queueCallback(tx: Queryable, o: QueueOptions): Promise<boolean> {
  const id = uuidv7();
  const inserted = await repo.insertCallback(tx, {
    tenantId: o.tenantId,
    id,
    clientId: o.clientId,
    action: o.action,
    transactionRow: o.transactionRow ?? null,
    subscriptionId: o.subscriptionId ?? null,
    eventId: o.eventId ?? null,
    personId: o.personId ?? null,
    messageId: uuidv7(),
    targetUrl: o.targetUrl,
  });
  if (!inserted) return false;
  await enqueueJob(tx, {
    kind: CALLBACK_JOB,
    tenantId: o.tenantId,
    payload: { callback_id: id },
    maxAttempts: o.maxAttempts,
  });
  return true;
}

/** An async search with nowhere to call back: a job still completes it, for txn/status. */
export async function queueCompletion(
  tx: Queryable,
  tenantId: string,
  transactionRow: string,
): Promise<void> {
  await enqueueJob(tx, { kind: CALLBACK_JOB, tenantId, payload: { transaction_row: transactionRow } });
}

export interface CallbackDeps {
  db: Database;
  config: Config;
  clients: ClientCache;
  settings: TenantSettingsCache;
  outbound: Outbound;
  log: FastifyBaseLogger | null;
}

export function registerCallbackWorker(jobs: JobRunner, deps: CallbackDeps): void {
  const { db, config, clients, outbound } = deps;
  const webhook = config.webhooks;

  /** The client as it is now, read as a DCI sender; null when it may no longer receive anything. */
  async function actorFor(clientId: string, tenantId: string): Promise<Actor | null> {
    const client = await clients.get(clientId);
    try {
      assertClientUsable(client);
    } catch {
      return null;
    }
    if (client.tenantId !== tenantId) return null;
    const principal = principalOf(client, currentScopes(client));
    if (!principal.scopes.has('dci:search')) return null;
    return dciActor({
      principal,
      tenantId,
      correlationId: `dci-callback`,
      ip: null,
      sourceSystem: null,
      audit: { recorded: false },
    });
  }

  async function runContext(tx: Tx, actor: Actor, tenantId: string): Promise<SearchRunContext> {
    return {
      tx,
      actor,
      tenantId,
      config: config.dci,
      reader: await readerOf(tx, actor, tenantId),
    };
  }

  /** Runs a pending async search and stores its outcome; its message when asked for. */
  async function completeSearch(ctx: SearchRunContext, txn: repo.TxnRow): Promise<BuiltMessage> {
    const raw = (txn.request.search_request as unknown[]) ?? [];
    const results = await runSearch(ctx, prepareSearchItems(raw, ctx.config));
    const status = batchStatus(results.map((r) => r.status));
    await repo.completeTxn(ctx.tx, ctx.tenantId, txn.id, status, outcomeOf(results));
    return {
      message: {
        transaction_id: txn.transaction_id,
        correlation_id: txn.correlation_id,
        search_response: results,
      },
      status,
      total: raw.length,
      completed: results.length,
    };
  }

  async function completeOnly(tenantId: string, txnRow: string): Promise<void> {
    const pending = await db.transaction((tx) => repo.findTxn(tx, tenantId, txnRow), { tenantId });
    if (pending?.status !== 'pdng') return;
    const actor = await actorFor(pending.client_id, tenantId);
    await db.transaction(
      async (tx) => {
        const txn = await repo.findTxn(tx, tenantId, txnRow, true);
        if (txn?.status !== 'pdng') return;
        if (!actor) {
          await repo.completeTxn(tx, tenantId, txn.id, 'rjct', []);
          return;
        }
        await completeSearch(await runContext(tx, actor, tenantId), txn);
      },
      { tenantId },
    );
  }

  /** The message of a callback, or a reason to skip it. */
  async function build(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    cb: repo.CallbackRow,
  ): Promise<{ built: BuiltMessage; receiver: string; meta?: Record<string, unknown> } | { skip: string }> {
    const ctx = await runContext(tx, actor, tenantId);
    if (cb.action === 'notify') {
      const sub = await findSubscription(tx, tenantId, cb.subscription_id!);
      if (sub?.status !== 'subscribe') return { skip: 'the subscription has ended' };
      const n = await notifyMessageOf(ctx, sub, cb.event_id!, cb.id);
      return 'skip' in n ? n : { built: n.built, receiver: sub.sender_id, meta: n.meta };
    }
    const txn = await repo.findTxn(tx, tenantId, cb.transaction_row!, true);
    if (!txn) return { skip: 'the transaction is gone' };
    switch (cb.action) {
      case 'on-search':
        return {
          built: txn.status === 'pdng' ? await completeSearch(ctx, txn) : await searchResponseOf(ctx, txn),
          receiver: txn.sender_id,
        };
      case 'txn-on-status':
        return {
          built: await txnStatusResponseOf(
            ctx,
            txn.client_id,
            txn.correlation_id,
            txn.request as unknown as TxnStatusMessage,
          ),
          receiver: txn.sender_id,
        };
      case 'on-subscribe':
        return { built: await subscribeResponseOf(ctx, txn), receiver: txn.sender_id };
      case 'on-unsubscribe':
        return { built: unsubscribeResponseOf(txn), receiver: txn.sender_id };
    }
  }

  async function deliver(tenantId: string, callbackId: string): Promise<void> {
    const cb = await db.transaction((tx) => repo.findCallback(tx, tenantId, callbackId), { tenantId });
    if (cb?.status !== 'pending') return;
    const actor = await actorFor(cb.client_id, tenantId);
    if (!actor) {
      await db.transaction(
        (tx) => repo.skipCallback(tx, tenantId, cb.id, 'the client may no longer receive DCI data'),
        { tenantId },
      );
      return;
    }
    const result = await db.transaction((tx) => build(tx, actor, tenantId, cb), { tenantId });
    if ('skip' in result) {
      await db.transaction((tx) => repo.skipCallback(tx, tenantId, cb.id, result.skip), { tenantId });
      return;
    }
    const { built, receiver, meta } = result;
    const header = {
      ...replyHeader({
        action: cb.action as DciAction,
        status: built.status,
        total: built.total,
        completed: built.completed,
        senderId: config.dci.participantId,
        receiverId: receiver,
        meta,
      }),
      message_id: cb.message_id,
    };
    const body = JSON.stringify(outbound.sign({ header, message: built.message }));
    const attemptedAt = new Date();
    const outcome = await outbound.post(cb.target_url, receiver, cb.action, body);
    let error = outcome.error;
    let permanent = outcome.permanent === true;
    if (!error && outcome.excerpt && /"ack_status"\s*:\s*"ERR"/.test(outcome.excerpt)) {
      error = 'the receiver answered ack_status ERR';
      permanent = true;
    }
    const attempt = cb.attempts + 1;
    const final = error !== null && (permanent || attempt >= webhook.maxAttempts);
    await db.transaction(
      (tx) =>
        repo.recordAttempt(tx, {
          tenantId,
          callbackId: cb.id,
          attempt,
          attemptedAt,
          durationMs: outcome.durationMs,
          statusCode: outcome.statusCode,
          error,
          excerpt: outcome.excerpt,
          final,
        }),
      { tenantId },
    );
    if (error) throw final ? new PermanentJobError(error) : new Error(error);
  }

  jobs.register(
    CALLBACK_JOB,
    async (job: Job) => {
      const tenantId = job.tenant_id;
      if (!tenantId) throw new PermanentJobError('a DCI callback job needs a tenant');
      const p = job.payload as { callback_id?: string; transaction_row?: string };
      if (p.transaction_row) await completeOnly(tenantId, p.transaction_row);
      if (p.callback_id) await deliver(tenantId, p.callback_id);
    },
    {
      retryAt: (attempt) =>
        new Date(Date.now() + backoffDelayMs(attempt, webhook.retryBaseMs, 12 * 3600 * 1000)),
    },
  );
}
