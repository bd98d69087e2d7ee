import type { ChangeFeed } from '../db/change-feed.js';
import type { Queryable } from '../db/database.js';
import type { TenantSettings } from './schemas.js';

const TTL_MS = 10_000;

export interface ResolvedSettings {
  consentGraceDays: number;
  consentRequiresVerification: boolean;
  defaultPhoneCountry: string | undefined;
}

/**
 * Tenant settings with their defaults, cached per process; a change in any process drops the entry
 * everywhere through the change feed (nothing is served from the cache while the feed is stale).
 * The access policy (classification, role table) is not here: src/access reads it fresh for each
 * operation.
 */
export function createTenantSettings(changes: ChangeFeed) {
  const cache = new Map<string, { at: number; value: ResolvedSettings }>();
  changes.on('tenant', (tenantId) => cache.delete(tenantId));
  return {
    async get(q: Queryable, tenantId: string): Promise<ResolvedSettings> {
      const hit = cache.get(tenantId);
      if (hit && changes.fresh() && Date.now() - hit.at < TTL_MS) return hit.value;
      const { rows } = await q.query<{ settings: TenantSettings }>(
        'SELECT settings FROM tenants WHERE id = $1',
        [tenantId],
      );
      const s = rows[0]?.settings ?? {};
      const value: ResolvedSettings = {
        consentGraceDays: s.consent_grace_days ?? 30,
        consentRequiresVerification: s.consent_requires_verification ?? false,
        defaultPhoneCountry: s.default_phone_country,
      };
      cache.set(tenantId, { at: Date.now(), value });
      return value;
    },
    invalidate(tenantId: string): void {
      cache.delete(tenantId);
    },
  };
}

export type TenantSettingsCache = ReturnType<typeof createTenantSettings>;
