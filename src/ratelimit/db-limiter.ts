import type { Database } from '../db/database.js';
import { type RateDecision, type RateLimiter, resetSeconds, WINDOW_MS, windowStart } from './limiter.js';

interface Window {
  start: number;
  /** Count in the database at the last flush, this process's earlier requests included. */
  known: number;
  /** Requests admitted here since the last flush. */
  pending: number;
}

const FLUSH_MS = 200;

/**
 * Counts in process and adds the counts to `rate_limit_counters` every 200 ms, reading back the
 * total of every process. One process is exact; several may together admit up to one flush
 * interval of extra requests (docs/decisions/0002-rate-limit-counters.md). Redis, when
 * configured, is exact across processes.
 */
export class DbRateLimiter implements RateLimiter {
  private windows = new Map<string, Window>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private lastCleanup = 0;

  constructor(private readonly db: Database) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), FLUSH_MS);
    this.timer.unref();
  }

  async consume(key: string, limit: number): Promise<RateDecision> {
    const now = Date.now();
    const start = windowStart(now);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, known: 0, pending: 0 };
      this.windows.set(key, w);
    }
    const used = w.known + w.pending;
    if (used >= limit) return { allowed: false, limit, remaining: 0, resetSeconds: resetSeconds(now) };
    w.pending++;
    return { allowed: true, limit, remaining: limit - used - 1, resetSeconds: resetSeconds(now) };
  }

  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const now = Date.now();
    const keys: string[] = [];
    const starts: string[] = [];
    const counts: number[] = [];
    for (const [key, w] of this.windows) {
      if (w.start + WINDOW_MS < now - WINDOW_MS) {
        this.windows.delete(key);
        continue;
      }
      if (w.pending === 0) continue;
      keys.push(key);
      starts.push(new Date(w.start).toISOString());
      counts.push(w.pending);
    }
    if (keys.length > 0) {
      const { rows } = await this.db.query<{ key: string; window_start: Date; count: number }>(
        `INSERT INTO rate_limit_counters (key, window_start, count)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[])
         ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
         RETURNING key, window_start, count`,
        [keys, starts, counts],
      );
      const sent = new Map(keys.map((k, i) => [k, counts[i]]));
      for (const row of rows) {
        const w = this.windows.get(row.key);
        if (!w || w.start !== row.window_start.getTime()) continue;
        w.pending -= sent.get(row.key) ?? 0;
        w.known = row.count;
      }
    }
    if (now - this.lastCleanup > WINDOW_MS) {
      this.lastCleanup = now;
      await this.db.query(
        "DELETE FROM rate_limit_counters WHERE window_start < now() - interval '5 minutes'",
      );
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => {});
  }
}
