import { systemActor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { DAY_MS, recordConsentChange } from './changes.js';
import * as repo from './repo.js';

export interface ExpiryDeps {
  db: Database;
  settings: TenantSettingsCache;
}

export interface ExpirySummary {
  expired: number;
  tenants: number;
}

/** How often the job runner sweeps (src/services.ts); windows are enforced at read time meanwhile. */
export const CONSENT_EXPIRY_INTERVAL_MS = 5 * 60_000;

/** How many consents one transaction expires; a sweep repeats until none is due. */
const BATCH = 200;

/**
 * The consent expiry sweep (run periodically by the job runner): every active consent whose
 * `active_until` is at or before `now` becomes expired, with `grace_until` = `active_until` + the
 * tenant's grace period, a version row, an audit event and a `consent.expired` outbox event, in
 * one transaction per tenant batch. Reads already treat such a consent as in grace before the
 * sweep runs (see src/access/consent-state.ts), so a late sweep never widens access.
 */
export function createConsentExpiry(deps: ExpiryDeps) {
  const { db, settings } = deps;

  async function expireTenantBatch(tenantId: string, now: Date): Promise<number> {
    const actor = systemActor(tenantId, 'consent-expiry');
    return tenantTx(db, actor, async (tx) => {
      const due = await repo.lockDueConsents(tx, tenantId, now, BATCH);
      if (due.length === 0) return 0;
      const { consentGraceDays } = await settings.get(tx, tenantId);
      for (const c of due) {
        const expiredAt = c.active_until!;
        const updated = await repo.updateConsent(tx, tenantId, c.id, {
          status: 'expired',
          expired_at: expiredAt,
          grace_until: new Date(expiredAt.getTime() + consentGraceDays * DAY_MS),
          reason_text: 'active_until passed',
        });
        await recordConsentChange(tx, actor, updated, 'expire', 'consent.expired', {
          from_status: c.status,
          by: 'expiry job',
        });
      }
      return due.length;
    });
  }

  return {
    async expireDue(now: Date = new Date()): Promise<ExpirySummary> {
      const tenants = await db.transaction((tx) => repo.tenantsWithDueConsents(tx, now));
      let expired = 0;
      for (const tenantId of tenants) {
        for (;;) {
          const n = await expireTenantBatch(tenantId, now);
          expired += n;
          if (n < BATCH) break;
        }
      }
      return { expired, tenants: tenants.length };
    },
  };
}

export type ConsentExpiry = ReturnType<typeof createConsentExpiry>;
