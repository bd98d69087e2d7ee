export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

/** Fixed one-minute windows keyed by client, client id or IP. */
export interface RateLimiter {
  consume(key: string, limit: number): Promise<RateDecision>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;

export function windowStart(now: number): number {
  return now - (now % WINDOW_MS);
}

export function resetSeconds(now: number): number {
  return Math.max(1, Math.ceil((windowStart(now) + WINDOW_MS - now) / 1000));
}
