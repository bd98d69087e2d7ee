import type { ChangeFeed } from '../db/change-feed.js';
import type { Database } from '../db/database.js';
import { type ClientRecord, loadClientRecord } from './client-store.js';

/** An upper bound even while the change feed is healthy: a missed change heals by itself. */
const TTL_MS = 30_000;

/**
 * Client records for the auth hot path. A change to a client (deactivation, rotation, scope or
 * integration status) or to its tenant (suspension) drops the entry in this process at once and
 * in every other process through the change feed (src/db/change-feed.ts), within a second
 * whatever the pooler. While the feed is not fresh nothing is served from the cache, so a
 * revocation is never answered from a stale entry.
 */
export class ClientCache {
  private entries = new Map<string, { record: ClientRecord | null; at: number }>();
  private epoch = 0;

  constructor(
    private readonly db: Database,
    private readonly changes: ChangeFeed,
  ) {
    changes.on('client', (clientId) => this.drop(clientId));
    changes.on('tenant', (tenantId) => this.dropTenant(tenantId));
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    const fresh = this.changes.fresh();
    const hit = this.entries.get(clientId);
    if (hit && fresh && Date.now() - hit.at < TTL_MS) return hit.record;
    const epoch = this.epoch;
    const record = await loadClientRecord(this.db, clientId);
    // An invalidation that raced with this load wins: do not cache what may be stale.
    if (fresh && epoch === this.epoch) this.entries.set(clientId, { record, at: Date.now() });
    return record;
  }

  private drop(clientId: string): void {
    this.epoch++;
    this.entries.delete(clientId);
  }

  private dropTenant(tenantId: string): void {
    this.epoch++;
    for (const [id, entry] of this.entries) {
      if (entry.record === null || entry.record.tenantId === tenantId) this.entries.delete(id);
    }
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Call after the change committed; tells the other processes too. */
  invalidate(clientId: string): Promise<void> {
    return this.changes.publish('client', clientId);
  }
}
