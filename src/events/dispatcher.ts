import type { FastifyBaseLogger } from 'fastify';
import type { Database, Tx } from '../db/database.js';
import type { EventType } from './outbox.js';

/** An outbox event as consumers receive it (ids, type and changed field names; no personal data). */
export interface OutboxEvent {
  tenant_id: string;
  event_id: string;
  type: EventType;
  occurred_at: Date;
  vertical_id: string | null;
  resource_type: string;
  resource_id: string;
  person_id: string | null;
  changed_fields: string[];
  data: Record<string, string | number | boolean | null>;
}

/**
 * A consumer turns a batch of events into its own rows (deliveries, jobs, notifications) with
 * `tx`, the transaction that also marks the batch dispatched: its rows exist if and only if the
 * events count as dispatched. `tx` is a system transaction (no tenant, row-level security does
 * not apply): filter and write `tenant_id` explicitly. Throwing rolls the batch back.
 */
export type EventConsumer = (tx: Tx, events: readonly OutboxEvent[]) => Promise<void>;

export interface DispatcherOptions {
  /** Events per transaction (default 200). */
  batchSize?: number;
  /** Batches per call of dispatchPending (default 50), so one sweep never runs unbounded. */
  maxBatches?: number;
  /** Failed dispatches of one event before it is parked (default 10). */
  maxAttempts?: number;
  /** Only these tenants' events (tests; workers pinned to tenants). Default: every tenant. */
  tenantIds?: readonly string[];
}

// Only one dispatcher works at a time across every process: events leave in id order.
const DISPATCH_LOCK = 727_274_011;

const EVENT_COLUMNS = `tenant_id, event_id, type, occurred_at, vertical_id, resource_type, resource_id,
  person_id, changed_fields, data`;

/**
 * Moves committed outbox events to their consumers (webhooks first; DCI notifications later). A
 * periodic task calls dispatchPending: each batch is claimed in event order with
 * FOR UPDATE SKIP LOCKED under a transaction-level advisory lock, handed to every consumer in the
 * same transaction, then marked dispatched. A batch that fails is retried event by event so one
 * bad event cannot hold back the rest; an event that keeps failing is retried with backoff and
 * parked after maxAttempts (dispatch_error says why). See docs/decisions/0040-event-dispatch.md.
 */
export class EventDispatcher {
  private readonly consumers: { name: string; consume: EventConsumer }[] = [];
  private readonly afterCommit: (() => void)[] = [];
  private readonly batchSize: number;
  private readonly maxBatches: number;
  private readonly maxAttempts: number;
  private readonly tenantIds: readonly string[] | null;

  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger | null,
    options: DispatcherOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.maxBatches = options.maxBatches ?? 50;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.tenantIds = options.tenantIds ?? null;
  }

  registerConsumer(name: string, consume: EventConsumer): void {
    if (this.consumers.some((c) => c.name === name))
      throw new Error(`event consumer ${name} registered twice`);
    this.consumers.push({ name, consume });
  }

  /** Called after each committed batch (e.g. to wake the job runner). */
  onDispatched(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  /** Dispatches due events batch after batch; returns how many were dispatched. */
  async dispatchPending(): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.maxBatches; i++) {
      const { claimed, dispatched } = await this.dispatchBatch();
      total += dispatched;
      if (claimed < this.batchSize) break;
    }
    return total;
  }

  /** One batch in one transaction; on failure, the batch's events one by one. */
  async dispatchBatch(): Promise<{ claimed: number; dispatched: number }> {
    let claimedIds: { tenant_id: string; event_id: string }[] = [];
    try {
      const claimed = await this.db.transaction(async (tx) => {
        const events = await this.claim(tx, this.batchSize);
        claimedIds = events.map((e) => ({ tenant_id: e.tenant_id, event_id: e.event_id }));
        await this.deliver(tx, events);
        return events.length;
      });
      if (claimed > 0) this.notify();
      return { claimed, dispatched: claimed };
    } catch (err) {
      this.log?.warn({ err, events: claimedIds.length }, 'event dispatch batch failed; retrying one by one');
      let dispatched = 0;
      for (const id of claimedIds) if (await this.dispatchOne(id)) dispatched++;
      if (dispatched > 0) this.notify();
      return { claimed: claimedIds.length, dispatched };
    }
  }

  private notify(): void {
    for (const fn of this.afterCommit) {
      try {
        fn();
      } catch (err) {
        this.log?.error({ err }, 'after-dispatch hook failed');
      }
    }
  }

  private async claim(tx: Tx, limit: number, only?: { tenant_id: string; event_id: string }) {
    const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
      DISPATCH_LOCK,
    ]);
    if (!rows[0]?.locked) return [];
    const filter = only ? 'AND tenant_id = $4 AND event_id = $5' : '';
    const params: unknown[] = [limit, this.maxAttempts, this.tenantIds];
    if (only) params.push(only.tenant_id, only.event_id);
    const claimed = await tx.query<OutboxEvent>(
      `SELECT ${EVENT_COLUMNS} FROM outbox_events
        WHERE dispatched_at IS NULL AND dispatch_attempts < $2
          AND (dispatch_after IS NULL OR dispatch_after <= now())
          AND ($3::uuid[] IS NULL OR tenant_id = ANY ($3::uuid[])) ${filter}
        ORDER BY event_id
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      params,
    );
    return claimed.rows;
  }

  private async deliver(tx: Tx, events: OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const c of this.consumers) await c.consume(tx, events);
    await tx.query(
      `UPDATE outbox_events o SET dispatched_at = now(), dispatch_error = NULL, dispatch_after = NULL
         FROM unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, event_id)
        WHERE o.tenant_id = k.tenant_id AND o.event_id = k.event_id`,
      [events.map((e) => e.tenant_id), events.map((e) => e.event_id)],
    );
  }

  /** One event alone; a failure is counted and the event retried later with backoff. */
  private async dispatchOne(id: { tenant_id: string; event_id: string }): Promise<boolean> {
    try {
      const n = await this.db.transaction(async (tx) => {
        const events = await this.claim(tx, 1, id);
        await this.deliver(tx, events);
        return events.length;
      });
      return n > 0;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log?.error({ err, event_id: id.event_id }, 'event dispatch failed');
      await this.db
        .query(
          `UPDATE outbox_events
              SET dispatch_attempts = dispatch_attempts + 1, dispatch_error = $3,
                  dispatch_after = now() + make_interval(secs => power(2, LEAST(dispatch_attempts, 12)))
            WHERE tenant_id = $1 AND event_id = $2`,
          [id.tenant_id, id.event_id, message.slice(0, 2000)],
        )
        .catch((e) => this.log?.error({ err: e }, 'could not record the dispatch failure'));
      return false;
    }
  }
}
