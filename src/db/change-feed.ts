import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { Database } from './database.js';

/** What a change is about; the key names the changed thing (a client id, a tenant id…). */
export type ChangeTopic = 'client' | 'tenant' | 'signing_keys' | (string & {});

export type ChangeMode = 'local' | 'listen' | 'poll';

export interface ChangeFeedOptions {
  /** Connection for LISTEN (a direct one when DATABASE_URL goes through a transaction pooler). */
  listenUrl: string | null;
  log?: FastifyBaseLogger | null;
  /** Poll interval while LISTEN is not confirmed working. */
  fastPollMs?: number;
  /** Poll interval while LISTEN works (a safety net: it may die silently). */
  slowPollMs?: number;
}

const CHANNEL = 'hearth_changes';
const PROBE_CHANNEL = 'hearth_changes_probe';
/** A change row is looked for this long after it was written (commits land out of id order). */
const LOOKBACK_MS = 5_000;
const KEEP_MINUTES = 10;
const PROBE_EVERY_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;

type Handler = (key: string) => void;

interface PolledChange {
  id: number;
  topic: string;
  key: string;
}

/**
 * Cross-process cache invalidation. A process that changes something cached (a client, a tenant,
 * the signing keys) publishes the change once it has committed; every process then drops what it
 * cached about it. On PostgreSQL the change is a row in `cache_changes` plus a NOTIFY: processes
 * with a working LISTEN connection hear it at once, and every process also polls the table —
 * every 250 ms when LISTEN is unavailable (a transaction-mode pooler swallows it silently, which a
 * probe at start and every few seconds detects), every second otherwise. A cache may serve an
 * entry only while `fresh()` is true: a process that cannot reach the feed caches nothing.
 *
 * The embedded database belongs to one process (its data folder is locked), so there the feed is
 * local: publishing calls this process's handlers and nothing else.
 */
export class ChangeFeed {
  private readonly handlers = new Map<string, Handler[]>();
  private readonly seen = new Map<number, number>();
  private modeNow: ChangeMode;
  private listener: pg.Client | null = null;
  private listenConfirmed = false;
  private lastSyncAt = 0;
  private since: Date | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private pendingProbe: { nonce: string; resolve: (ok: boolean) => void } | null = null;
  private lastPrune = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly fastPollMs: number;
  private readonly slowPollMs: number;
  private readonly log: FastifyBaseLogger | null;

  constructor(
    private readonly db: Database,
    private readonly options: ChangeFeedOptions,
  ) {
    this.modeNow = db.kind === 'pglite' ? 'local' : 'poll';
    this.fastPollMs = options.fastPollMs ?? 250;
    this.slowPollMs = options.slowPollMs ?? 1_000;
    this.log = options.log ?? null;
  }

  /** How this process hears of other processes' changes. */
  get mode(): ChangeMode {
    return this.modeNow;
  }

  on(topic: ChangeTopic, handler: Handler): void {
    const list = this.handlers.get(topic) ?? [];
    list.push(handler);
    this.handlers.set(topic, list);
  }

  /**
   * True while this process is known to have seen every change committed up to a moment ago:
   * always on the embedded database; on PostgreSQL while the last poll succeeded within a second
   * (a few seconds while LISTEN is confirmed, as notifications arrive in between).
   */
  fresh(): boolean {
    if (this.modeNow === 'local') return true;
    const since = Date.now() - this.lastSyncAt;
    return this.listenConfirmed ? since < this.slowPollMs + 2_000 : since < 1_000 + this.fastPollMs;
  }

  async start(): Promise<void> {
    if (this.modeNow === 'local') return;
    await this.poll();
    if (this.options.listenUrl) await this.connectListener();
    if (!this.listenConfirmed) {
      this.log?.warn(
        'LISTEN/NOTIFY does not reach this process (a transaction-mode pooler drops it): following changes by polling every ' +
          `${this.fastPollMs} ms; set HEARTH_LISTEN_DATABASE_URL to a direct connection to hear them at once`,
      );
    } else {
      this.log?.info('following changes of other processes by LISTEN/NOTIFY');
    }
    this.schedulePoll();
    this.probeTimer = setInterval(() => void this.checkListener(), PROBE_EVERY_MS);
    this.probeTimer.unref();
  }

  /** Call once the change committed: drops it here at once and tells every other process. */
  async publish(topic: ChangeTopic, key = ''): Promise<void> {
    this.dispatch(topic, key);
    if (this.modeNow === 'local') return;
    await this.db.query(
      `WITH c AS (INSERT INTO cache_changes (topic, key) VALUES ($1, $2) RETURNING id)
       SELECT pg_notify($3, json_build_object('id', id, 'topic', $1::text, 'key', $2::text)::text) FROM c`,
      [topic, key, CHANNEL],
    );
  }

  private dispatch(topic: string, key: string): void {
    for (const handler of this.handlers.get(topic) ?? []) {
      try {
        handler(key);
      } catch (err) {
        this.log?.error({ err, topic }, 'cache invalidation handler failed');
      }
    }
  }

  private receive(change: PolledChange): void {
    if (this.seen.has(change.id)) return;
    this.seen.set(change.id, Date.now());
    this.dispatch(change.topic, change.key);
  }

  private schedulePoll(): void {
    if (this.closed) return;
    const wait = this.listenConfirmed ? this.slowPollMs : this.fastPollMs;
    this.pollTimer = setTimeout(() => {
      this.poll()
        .catch((err) => this.log?.debug({ err }, 'change poll failed'))
        .finally(() => this.schedulePoll());
    }, wait);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const started = Date.now();
    const since = this.since ? new Date(this.since.getTime() - LOOKBACK_MS) : null;
    const { rows } = await this.db.query<{ now: Date; changes: PolledChange[] }>(
      `SELECT clock_timestamp() AS now,
              coalesce((SELECT json_agg(json_build_object('id', id, 'topic', topic, 'key', key) ORDER BY id)
                          FROM cache_changes WHERE $1::timestamptz IS NOT NULL AND at > $1), '[]') AS changes`,
      [since],
    );
    for (const change of rows[0].changes) this.receive(change);
    this.since = rows[0].now;
    this.lastSyncAt = started;
    for (const wake of this.waiters.splice(0)) wake();
    for (const [id, at] of this.seen) if (started - at > 2 * LOOKBACK_MS) this.seen.delete(id);
    if (started - this.lastPrune > 60_000) {
      this.lastPrune = started;
      await this.db.query(
        `DELETE FROM cache_changes WHERE at < now() - make_interval(mins => ${KEEP_MINUTES})`,
      );
    }
  }

  /** Resolves once a poll that started after this call has finished (at once when local). */
  nextSync(): Promise<void> {
    if (this.modeNow === 'local') return Promise.resolve();
    // A poll in flight may have read before this call: wait for the one after it.
    return new Promise((resolve) => this.waiters.push(() => this.waiters.push(resolve)));
  }

  private async connectListener(): Promise<void> {
    if (this.closed || !this.options.listenUrl) return;
    const client = new pg.Client({ connectionString: this.options.listenUrl });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = null;
      this.setConfirmed(false, 'LISTEN connection lost');
      client.end().catch(() => {});
      if (!this.closed) setTimeout(() => void this.connectListener(), 1_000).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === PROBE_CHANNEL) {
        if (this.pendingProbe && msg.payload === this.pendingProbe.nonce) this.pendingProbe.resolve(true);
        return;
      }
      try {
        this.receive(JSON.parse(msg.payload ?? '') as PolledChange);
      } catch {
        // Not ours; the poll catches up with anything missed.
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}; LISTEN ${PROBE_CHANNEL}`);
      this.listener = client;
      this.setConfirmed(await this.probe(), 'LISTEN probe not echoed');
    } catch (err) {
      this.log?.debug({ err }, 'LISTEN connection failed');
      await client.end().catch(() => {});
      if (this.listener === client) this.listener = null;
    }
  }

  /** Sends a NOTIFY through the pool and waits for the listener to hear it. */
  private probe(): Promise<boolean> {
    if (!this.listener) return Promise.resolve(false);
    const nonce = randomUUID();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        if (this.pendingProbe?.nonce === nonce) this.pendingProbe = null;
        resolve(ok);
      };
      this.pendingProbe = { nonce, resolve: finish };
      this.db.query('SELECT pg_notify($1, $2)', [PROBE_CHANNEL, nonce]).catch(() => finish(false));
    });
  }

  private async checkListener(): Promise<void> {
    if (this.closed) return;
    if (!this.listener) return;
    this.setConfirmed(await this.probe(), 'LISTEN stopped delivering notifications');
  }

  private setConfirmed(ok: boolean, why: string): void {
    if (ok === this.listenConfirmed) return;
    this.listenConfirmed = ok;
    this.modeNow = ok ? 'listen' : 'poll';
    if (ok) this.log?.info('LISTEN/NOTIFY confirmed: changes of other processes arrive at once');
    else if (!this.closed) this.log?.warn(`${why}: following changes by polling every ${this.fastPollMs} ms`);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    const l = this.listener;
    this.listener = null;
    this.listenConfirmed = false;
    await l?.end().catch(() => {});
  }
}
