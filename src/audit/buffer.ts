import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.js';
import { type AuditEvent, appendAuditMany } from './audit.js';

const MAX_BATCH = 500;

interface Pending {
  event: AuditEvent;
  stored: () => void;
  failed: (err: unknown) => void;
}

/**
 * Request-level audit events (reads, refusals, rolled-back failures) are stored by group commit:
 * while one batch is being written, the events that arrive wait and go together in the next one
 * (one statement and one commit per batch, the per-tenant chain lock taken once per batch). An
 * idle server writes an event at once. Every caller learns whether its event was stored, so the
 * HTTP layer answers only once it is (fail closed, docs/decisions/0070-database-faults.md).
 * Writes never go through here; their events are in their own transaction.
 */
export class AuditBuffer {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger | null = null,
  ) {}

  /** Resolves once the event is in the chain; rejects when it could not be stored. */
  record(event: AuditEvent): Promise<void> {
    return new Promise<void>((stored, failed) => {
      this.queue.push({ event, stored, failed });
      this.writing ??= this.writeAll().finally(() => {
        this.writing = null;
      });
    });
  }

  /** Queues an event without waiting for it (a failure is logged). */
  add(event: AuditEvent): void {
    this.record(event).catch(() => {});
  }

  /** Resolves when every event queued before the call is stored (or has failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.db.transaction((tx) =>
          appendAuditMany(
            tx,
            batch.map((p) => p.event),
          ),
        );
        for (const p of batch) p.stored();
      } catch (err) {
        this.log?.error({ err, events: batch.length }, 'could not store request audit events');
        for (const p of batch) p.failed(err);
      }
    }
  }
}
