import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.js';
import { type AuditEvent, appendAuditMany } from './audit.js';

const FLUSH_MS = 25;
const MAX_BATCH = 500;

/**
 * Request-level audit events (reads, refusals, rolled-back failures) are chained in batches: one
 * statement and one commit per batch instead of one per request, so the per-tenant chain lock is
 * taken once per batch. Writes never go through here; their events are in their own transaction.
 * A crash can lose at most the last batch of read events (docs/decisions/0003-audit-chain.md).
 */
export class AuditBuffer {
  private queue: AuditEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger | null = null,
  ) {}

  add(event: AuditEvent): void {
    this.queue.push(event);
    if (this.queue.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is queued; resolves when every event queued before the call is stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.db.transaction((tx) => appendAuditMany(tx, batch));
      } catch (err) {
        this.log?.error({ err, events: batch.length }, 'could not store request audit events');
      }
    });
    return this.flushing;
  }
}
