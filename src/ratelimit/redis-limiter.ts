import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { type RateDecision, type RateLimiter, WINDOW_MS } from './limiter.js';

/** Exact shared counters in Redis; if Redis fails, an in-process limiter takes over. */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly byLimit = new Map<number, RateLimiterRedis>();

  constructor(url: string) {
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.redis.on('error', () => {});
  }

  private limiter(limit: number): RateLimiterRedis {
    let l = this.byLimit.get(limit);
    if (!l) {
      l = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `hearth:rl:${limit}`,
        points: limit,
        duration: WINDOW_MS / 1000,
        insuranceLimiter: new RateLimiterMemory({ points: limit, duration: WINDOW_MS / 1000 }),
      });
      this.byLimit.set(limit, l);
    }
    return l;
  }

  async consume(key: string, limit: number): Promise<RateDecision> {
    try {
      const res = await this.limiter(limit).consume(key, 1);
      return {
        allowed: true,
        limit,
        remaining: res.remainingPoints,
        resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      };
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        return {
          allowed: false,
          limit,
          remaining: 0,
          resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
        };
      }
      throw res;
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
