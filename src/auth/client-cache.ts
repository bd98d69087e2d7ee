import pg from 'pg';
import type { Database } from '../db/database.js';
import { type ClientRecord, loadClientRecord } from './client-store.js';

const CHANNEL = 'hearth_client_changed';
const TTL_MS = 30_000;

/**
 * Client records for the auth hot path. A change to a client (deactivation, rotation, scope or
 * integration status) invalidates the entry in this process at once and, on PostgreSQL, in every
 * other process through LISTEN/NOTIFY. While the listener is down nothing is cached, so a
 * revocation is never served from a stale entry.
 */
export class ClientCache {
  private entries = new Map<string, { record: ClientRecord | null; at: number }>();
  private epoch = 0;
  private listener: pg.Client | null = null;
  private listening: boolean;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly databaseUrl: string | null,
  ) {
    // One embedded database means one process: local invalidation is complete.
    this.listening = db.kind === 'pglite';
  }

  async start(): Promise<void> {
    if (this.db.kind === 'postgres' && this.databaseUrl) await this.connectListener();
  }

  private async connectListener(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.databaseUrl! });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = null;
      this.listening = false;
      this.clear();
      if (!this.closed) setTimeout(() => this.connectListener().catch(() => {}), 1000).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.payload) this.drop(msg.payload);
      else this.clear();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
      this.clear();
      this.listening = true;
    } catch {
      await client.end().catch(() => {});
      if (!this.closed) setTimeout(() => this.connectListener().catch(() => {}), 1000).unref();
    }
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    const hit = this.entries.get(clientId);
    if (hit && this.listening && Date.now() - hit.at < TTL_MS) return hit.record;
    const epoch = this.epoch;
    const record = await loadClientRecord(this.db, clientId);
    // An invalidation that raced with this load wins: do not cache what may be stale.
    if (this.listening && epoch === this.epoch) this.entries.set(clientId, { record, at: Date.now() });
    return record;
  }

  private drop(clientId: string): void {
    this.epoch++;
    this.entries.delete(clientId);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Call after the change committed; tells the other processes too. */
  async invalidate(clientId: string): Promise<void> {
    this.drop(clientId);
    if (this.db.kind === 'postgres') await this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, clientId]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const l = this.listener;
    this.listener = null;
    this.listening = false;
    await l?.end().catch(() => {});
  }
}
