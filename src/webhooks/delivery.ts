import { type KeyObject, randomBytes } from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { asThirdParty } from '../access/reader.js';
import { currentScopes, principalOf } from '../auth/authenticator.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { WebhookConfig } from '../config.js';
import type { Database, Tx } from '../db/database.js';
import type { OutboxEvent } from '../events/dispatcher.js';
import { contractInForce, findContract } from '../integrations/contract-repo.js';
import { inWindow } from '../integrations/lifecycle.js';
import { uuidv7 } from '../lib/ids.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import * as drepo from './delivery-repo.js';
import { type AttemptOutcome, postDelivery } from './http-client.js';
import { eventBody, type PersonProjection, projectPersonFor } from './payload.js';
import * as qrepo from './queue-repo.js';
import { RECEIVING_STATUSES } from './service.js';
import { openPrivateKey, signatureHeader } from './signing.js';
import { parseTargetUrl, TargetRefused } from './target-url.js';

const MAX_DELAY_MS = 12 * 3600_000;
const USER_AGENT = 'Hearth-Webhooks/1.0';
/** One sweep stops claiming after this long (the periodic task starts the next one). */
const SWEEP_BUDGET_MS = 5_000;
/** Outcomes wait at most this long to be recorded with others (fewer commits). */
const FLUSH_AFTER_MS = 10;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Delay before retry n (after failed attempt n of a round): base·2^(n-1), capped at 12 h, times a
 * random factor in [0.8, 1.2). With the defaults (10 s, 15 attempts) the last attempt comes at
 * least ~27 h after the first (docs/decisions/0045-webhook-delivery-queue.md).
 */
export function retryDelayMs(attempt: number, baseMs: number): number {
  const exp = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

export interface DeliveryWorkerDeps {
  db: Database;
  config: WebhookConfig;
  clientCache: ClientCache;
  settings: TenantSettingsCache;
  log: FastifyBaseLogger | null;
}

export interface DeliveryOptions {
  /** Only these tenants' deliveries (tests, benchmarks). Default: every tenant. */
  tenantIds?: readonly string[];
}

const isSuccess = (code: number | null) => code !== null && code >= 200 && code < 300;

/**
 * The delivery side of webhooks: the dispatcher consumer that turns events into delivery rows,
 * and the delivery sweep that claims due rows, makes up to HEARTH_WEBHOOK_CONCURRENCY attempts at
 * once (sign, POST, read a capped answer) and records their outcomes in groups.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps) {
  const { db, config, clientCache, log } = deps;
  const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const lockSeconds = Math.ceil(config.timeoutMs / 1000) + 60;
  const keyCache = new Map<string, KeyObject>();

  /** Dispatcher consumer: one delivery per matching webhook, queued behind open ones about the same resource. */
  async function consume(tx: Tx, events: readonly OutboxEvent[]): Promise<void> {
    const matches = await drepo.matchWebhooks(tx, events);
    if (matches.length === 0) return;
    const open = await drepo.lockOpenResources(tx, matches);
    const rows: drepo.NewDelivery[] = matches.map((m) => {
      const key = drepo.resourceKey(m.tenant_id, m.webhook_id, m.resource_id);
      const status = open.has(key) ? 'waiting' : 'pending';
      open.add(key);
      return {
        tenantId: m.tenant_id,
        id: uuidv7(),
        webhookId: m.webhook_id,
        eventId: m.event_id,
        eventType: m.type,
        resourceId: m.resource_id,
        status,
      };
    });
    await drepo.insertDeliveries(tx, rows);
  }

  function privateKey(kid: string, stored: string): KeyObject {
    let key = keyCache.get(kid);
    if (!key) {
      if (keyCache.size > 1000) keyCache.clear();
      key = openPrivateKey(stored, config.keySecret, kid);
      keyCache.set(kid, key);
    }
    return key;
  }

  /** Why nothing may be sent now, or null. */
  function refusal(c: qrepo.Claimed, now: Date): string | null {
    if (c.webhook_status !== 'active') return 'webhook disabled';
    if (!RECEIVING_STATUSES.includes(c.integration_status)) return `integration ${c.integration_status}`;
    if (!inWindow(c.integration_from, c.integration_until, now))
      return 'integration outside its active window';
    if (c.webhook_until && c.webhook_until.getTime() <= now.getTime()) return 'webhook past its active_until';
    return null;
  }

  /** The integration's own client as the access decision sees it (as if it pulled). */
  async function integrationActor(authClientId: string, tenantId: string, correlationId: string) {
    const client = await clientCache.get(authClientId);
    if (!client?.active || !client.tenantActive || client.tenantId !== tenantId) return null;
    const principal = principalOf(client, currentScopes(client));
    return asThirdParty({
      principal,
      tenantId,
      correlationId,
      ip: null,
      sourceSystem: null,
      audit: { recorded: false },
    });
  }

  /** Contract fields for a person event, decided now; null unless a contract in force and consent allow. */
  async function projection(c: qrepo.Claimed, event: OutboxEvent): Promise<PersonProjection | null> {
    if (!c.contract_id || !event.person_id || !c.auth_client_id) return null;
    const contract = await findContract(db, c.tenant_id, c.integration_id, c.contract_id);
    if (!contract || !contractInForce(contract) || !contract.data_categories.includes('person')) return null;
    const actor = await integrationActor(c.auth_client_id, c.tenant_id, `webhook:${event.event_id}`);
    if (!actor) return null;
    const personId = event.person_id;
    return db.transaction(async (tx) => projectPersonFor(tx, actor, c.tenant_id, personId, contract), {
      tenantId: c.tenant_id,
    });
  }

  const held = (c: qrepo.Claimed, status: 'held' | 'failed', error: string): qrepo.Outcome => ({
    tenantId: c.tenant_id,
    id: c.id,
    eventId: c.event_id,
    webhookId: c.webhook_id,
    status,
    nextAttemptAt: null,
    error,
    attempt: null,
  });

  /** One attempt: never throws; every failure becomes the attempt's error. */
  async function attempt(
    c: qrepo.Claimed,
    event: OutboxEvent,
    body: string,
    keys: { public_key_id: string; private_key: string }[],
  ): Promise<qrepo.Outcome> {
    const at = new Date();
    let outcome: AttemptOutcome;
    try {
      // The form here; the addresses as the attempt connects (pinnedLookup), on the very answer it uses.
      parseTargetUrl(c.target_url, config.allowInsecureTargets);
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = signatureHeader(
        keys.map((k) => privateKey(k.public_key_id, k.private_key)),
        event.event_id,
        timestamp,
        body,
      );
      outcome = await postDelivery(
        c.target_url,
        {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': event.event_id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        body,
        {
          timeoutMs: config.timeoutMs,
          maxBytes: config.responseMaxBytes,
          allowInsecure: config.allowInsecureTargets,
        },
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      outcome = {
        statusCode: null,
        error: err instanceof TargetRefused ? `target refused: ${message}` : message,
        excerpt: null,
        durationMs: Math.round(Date.now() - at.getTime()),
      };
    }
    const ok = isSuccess(outcome.statusCode);
    const round = c.round_attempts + 1;
    const last = !ok && round >= config.maxAttempts;
    const nextAttemptAt = ok || last ? null : new Date(Date.now() + retryDelayMs(round, config.retryBaseMs));
    if (!ok) {
      // One line per failed attempt: ids and the receiver's answer, never the payload.
      log?.warn(
        {
          tenant_id: c.tenant_id,
          webhook_id: c.webhook_id,
          delivery_id: c.id,
          event_id: c.event_id,
          attempt: c.attempts + 1,
          status_code: outcome.statusCode,
          error: outcome.error,
          duration_ms: outcome.durationMs,
          next_attempt_at: nextAttemptAt?.toISOString() ?? null,
          final: last,
        },
        last ? 'webhook delivery failed for good' : 'webhook delivery attempt failed',
      );
    }
    return {
      tenantId: c.tenant_id,
      id: c.id,
      eventId: c.event_id,
      webhookId: c.webhook_id,
      status: ok ? 'succeeded' : last ? 'failed' : 'pending',
      nextAttemptAt,
      error: outcome.error,
      attempt: {
        number: c.attempts + 1,
        at,
        durationMs: outcome.durationMs,
        statusCode: outcome.statusCode,
        excerpt: outcome.excerpt,
        signedWith: keys.map((k) => k.public_key_id),
      },
    };
  }

  /** Prepares claimed deliveries: holds come back at once, attempts as promises. */
  async function prepare(claimed: qrepo.Claimed[]): Promise<(qrepo.Outcome | Promise<qrepo.Outcome>)[]> {
    const events = await qrepo.loadEvents(db, claimed);
    const keys = await qrepo.keysOf(db, claimed);
    const now = new Date();
    const out: (qrepo.Outcome | Promise<qrepo.Outcome>)[] = [];
    const ready: {
      index: number;
      c: qrepo.Claimed;
      event: OutboxEvent;
      body: string;
      signing: { public_key_id: string; private_key: string }[];
    }[] = [];
    for (const c of claimed) {
      const why = refusal(c, now);
      if (why) {
        out.push(held(c, 'held', why));
        continue;
      }
      const event = events.get(`${c.tenant_id}/${c.event_id}`);
      const signing = keys.get(`${c.tenant_id}/${c.webhook_id}`) ?? [];
      if (!event || signing.length === 0) {
        out.push(held(c, 'failed', event ? 'no signing key' : 'event not found'));
        continue;
      }
      let body: string;
      try {
        body = eventBody(event, await projection(c, event));
      } catch (err) {
        // The access decision could not be made: never send without it; try again later.
        log?.error({ err, delivery_id: c.id }, 'webhook payload failed');
        out.push({
          ...held(c, 'held', 'payload failed'),
          status: 'pending',
          nextAttemptAt: new Date(Date.now() + 60_000),
        });
        continue;
      }
      ready.push({ index: out.length, c, event, body, signing });
      out.push(held(c, 'held', 'claim lost before the attempt'));
    }
    // Counted before any POST leaves (issue 17): a worker killed during the attempt leaves it
    // counted and logged as without outcome, so the redelivery is attempt n + 1, not n again.
    const started = await qrepo.startAttempts(
      db,
      workerId,
      ready.map((r) => r.c),
    );
    for (const r of ready) {
      // A claim lost meanwhile (lock expired, another worker took it) is not attempted here.
      if (started.has(`${r.c.tenant_id}/${r.c.id}`)) out[r.index] = attempt(r.c, r.event, r.body, r.signing);
    }
    return out;
  }

  /**
   * The delivery sweep: claims due deliveries while slots are free (at most `concurrency` attempts
   * in flight, claimed in groups), records finished outcomes in groups (one transaction each), and
   * returns when nothing is due and nothing is in flight, or its time budget is spent. Several
   * processes may sweep at once.
   */
  async function runDue(options: DeliveryOptions = {}): Promise<number> {
    const deadline = Date.now() + SWEEP_BUDGET_MS;
    const group = Math.max(1, Math.ceil(config.concurrency / 2));
    // One slow or dead receiver may hold at most a quarter of the slots: the others keep flowing.
    const share = Math.max(1, Math.floor(config.concurrency / 4));
    const busy = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    const finished: qrepo.Outcome[] = [];
    let firstFinishedAt = 0;
    let recorded = 0;
    let exhausted = false;
    const done = (o: qrepo.Outcome) => {
      if (finished.length === 0) firstFinishedAt = Date.now();
      finished.push(o);
    };
    for (;;) {
      const free = config.concurrency - inFlight.size;
      if (!exhausted && Date.now() < deadline && (free >= group || inFlight.size === 0)) {
        const skipWebhooks = [...busy].filter(([, n]) => n >= share).map(([id]) => id);
        const claimed = await qrepo.claimDue(db, workerId, free, lockSeconds, {
          tenantIds: options.tenantIds,
          skipWebhooks,
        });
        if (claimed.length < free) exhausted = true;
        const taken: qrepo.Claimed[] = [];
        const over: qrepo.Claimed[] = [];
        const count = new Map(busy);
        for (const c of claimed) {
          const n = count.get(c.webhook_id) ?? 0;
          (n < share ? taken : over).push(c);
          if (n < share) count.set(c.webhook_id, n + 1);
        }
        if (over.length > 0) {
          await qrepo.release(db, workerId, over);
          exhausted = false;
        }
        const prepared = await prepare(taken);
        prepared.forEach((p, i) => {
          if (!(p instanceof Promise)) {
            done(p);
            return;
          }
          const webhookId = taken[i].webhook_id;
          busy.set(webhookId, (busy.get(webhookId) ?? 0) + 1);
          const task: Promise<void> = p.then((o) => {
            done(o);
            busy.set(webhookId, (busy.get(webhookId) ?? 1) - 1);
            inFlight.delete(task);
          });
          inFlight.add(task);
        });
      }
      const flushNow =
        finished.length > 0 &&
        (inFlight.size === 0 || finished.length >= group || Date.now() - firstFinishedAt >= FLUSH_AFTER_MS);
      if (flushNow) {
        const batch = finished.splice(0);
        await db.transaction((tx) => qrepo.recordOutcomes(tx, workerId, batch));
        recorded += batch.length;
        exhausted = false; // finished deliveries may have freed waiting ones
        continue;
      }
      if (inFlight.size > 0) {
        await Promise.race([...inFlight, sleep(FLUSH_AFTER_MS)]);
        continue;
      }
      if (exhausted || Date.now() >= deadline) break;
    }
    return recorded;
  }

  /** Sweep: waiting deliveries whose predecessor finished without promoting them. */
  async function promoteStranded(): Promise<number> {
    const keys = await qrepo.strandedWaiting(db, 500);
    return keys.length === 0 ? 0 : db.transaction((tx) => qrepo.promoteWaiting(tx, keys));
  }

  return { consume, runDue, promoteStranded, workerId };
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;
