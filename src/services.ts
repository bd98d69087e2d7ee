import type { FastifyBaseLogger } from 'fastify';
import { auditOf, recordAudit } from './audit/audit.js';
import { AuditBuffer } from './audit/buffer.js';
import { createAuditService } from './audit/service.js';
import { Authenticator } from './auth/authenticator.js';
import { ClientCache } from './auth/client-cache.js';
import { KeyStore } from './auth/keys.js';
import type { OAuthDeps } from './auth/oauth.js';
import type { Actor } from './auth/principal.js';
import { TokenService } from './auth/tokens.js';
import { createClientService } from './clients/service.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { forbidden } from './http/errors.js';
import { DbRateLimiter } from './ratelimit/db-limiter.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import { RedisRateLimiter } from './ratelimit/redis-limiter.js';
import { createTenantService, createVerticalService, seedSystemVerticals } from './tenancy/service.js';

/** Builds every domain service of one app instance over one database. */
export async function createServices(config: Config, db: Database, log: FastifyBaseLogger | null = null) {
  const keys = new KeyStore(db, config.tokenTtlSeconds);
  await keys.init();
  const clientCache = new ClientCache(db, config.databaseUrl);
  await clientCache.start();
  const tokens = new TokenService(keys, config.publicUrl, config.tokenTtlSeconds);
  const authenticator = new Authenticator(tokens, clientCache);
  const limiter: RateLimiter = config.redisUrl
    ? new RedisRateLimiter(config.redisUrl)
    : new DbRateLimiter(db);

  const verticals = createVerticalService(db);
  const tenants = createTenantService(db, [seedSystemVerticals]);
  const clients = createClientService(db, clientCache, verticals);
  const auditBuffer = new AuditBuffer(db, log);
  const audit = createAuditService(db, auditBuffer);
  const oauth: OAuthDeps = {
    db,
    clients: clientCache,
    authenticator,
    tokens,
    limiter,
    tokenRateLimit: config.tokenRateLimitPerMinute,
  };
  const signingKeys = {
    async rotate(actor: Actor) {
      if (!actor.principal.isRoot) throw forbidden('only ROOT rotates signing keys');
      const result = await keys.rotate();
      await db.transaction((tx) =>
        recordAudit(tx, actor, auditOf(actor, 'signing_key.rotate', { type: 'signing_key', id: result.kid })),
      );
      return result;
    },
  };

  return {
    keys,
    clientCache,
    tokens,
    authenticator,
    limiter,
    oauth,
    signingKeys,
    tenants,
    verticals,
    clients,
    audit,
    auditBuffer,
    async close() {
      await auditBuffer.flush();
      await limiter.close();
      await clientCache.close();
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
