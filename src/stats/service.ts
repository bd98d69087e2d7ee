import { readerOf } from '../access/reader.js';
import { statsAccess } from '../access/stats-access.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { readTx, requireTenant } from '../db/tx.js';
import { forbidden } from '../http/errors.js';
import * as repo from './repo.js';
import type {
  AGE_BANDS,
  ConsentStats,
  HouseholdStats,
  ImportStats,
  IntegrationStats,
  PersonStats,
} from './schemas.js';

const IMPORT_DAYS = 30;
const REGISTRATION_MONTHS = 12;

type AgeBand = (typeof AGE_BANDS)[number];

/** The last n months as YYYY-MM (UTC), oldest first. */
function lastMonths(n: number, today: Date): string[] {
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

function add<K>(map: Map<K, number>, key: K, n: number) {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** `reads`: statistics tolerate the replica lag bound, so they read from a replica when there is one. */
export function createStatsService(db: Database, reads?: ReadReplicas) {
  /** Runs a read in the caller's tenant once the access policy allows statistics at all. */
  async function read<T>(
    actor: Actor,
    fn: (
      tx: Tx,
      tenantId: string,
      access: ReturnType<typeof statsAccess>,
      verticals: readonly string[] | null,
    ) => Promise<T>,
  ): Promise<T> {
    const tenantId = requireTenant(actor);
    return readTx(db, reads, actor, async (tx) => {
      const reader = await readerOf(tx, actor, tenantId);
      const access = statsAccess(reader);
      if (!access.allowed) throw forbidden('registry statistics are for the tenant’s own staff');
      return fn(tx, tenantId, access, reader.verticals);
    });
  }

  return {
    persons(actor: Actor): Promise<PersonStats> {
      return read(actor, async (tx, tenantId, access) => {
        const now = new Date();
        const showGender = access.fields.has('gender');
        const showAge = access.fields.has('date_of_birth');
        const facets: repo.PersonCountRow['facet'][] = ['all', 'registered_month'];
        if (showGender) facets.push('gender');
        if (showAge) facets.push('birth_month');
        const rows = await repo.personCounts(tx, tenantId, facets);
        const byStatus = new Map<string, number>();
        const gender = new Map<string | null, number>();
        const age = new Map<AgeBand, number>();
        const months = new Map<string, number>();
        let total = 0;
        let active = 0;
        for (const r of rows) {
          if (r.facet === 'all') {
            add(byStatus, `${r.status}|${r.verification_status}`, r.n);
            total += r.n;
            if (r.status === 'active') active += r.n;
          } else if (r.facet === 'registered_month' && r.value) add(months, r.value, r.n);
          else if (r.status !== 'active') continue;
          else if (r.facet === 'gender') add(gender, r.value, r.n);
          else if (r.facet === 'birth_month') add(age, r.value as AgeBand, r.n);
        }
        const withheld: PersonStats['withheld'] = [];
        if (!showGender) withheld.push('gender');
        if (!showAge) withheld.push('age_band');
        return {
          as_of: now.toISOString(),
          total,
          active,
          by_status: [...byStatus]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([key, count]) => {
              const [status, verification_status] = key.split('|') as [string, string];
              return { status, verification_status, count };
            }),
          by_gender: showGender
            ? [...gender]
                .sort(([a], [b]) => (a ?? '\uffff').localeCompare(b ?? '\uffff'))
                .map(([g, count]) => ({ gender: g, count }))
            : null,
          by_age_band: showAge
            ? (['0-4', '5-17', '18-59', '60+', 'unknown'] as const).map((band) => ({
                band,
                count: age.get(band) ?? 0,
              }))
            : null,
          by_registration_month: lastMonths(REGISTRATION_MONTHS, now).map((month) => ({
            month,
            count: months.get(month) ?? 0,
          })),
          withheld,
        };
      });
    },

    households(actor: Actor): Promise<HouseholdStats> {
      return read(actor, async (tx, tenantId) => {
        const rows = await repo.householdCounts(tx, tenantId);
        return {
          as_of: new Date().toISOString(),
          total: rows.reduce((s, r) => s + r.n, 0),
          by_status: rows.map((r) => ({ status: r.status, count: r.n })),
        };
      });
    },

    /** A reader limited to some verticals counts only their consents. */
    consents(actor: Actor, days: number): Promise<ConsentStats> {
      return read(actor, async (tx, tenantId, _access, verticals) => {
        const rows = await repo.consentCounts(tx, tenantId, verticals);
        const deadlines = await repo.consentDeadlines(tx, tenantId, verticals, days);
        const byStatus = new Map<string, number>();
        for (const r of rows) add(byStatus, r.status, r.n);
        return {
          as_of: new Date().toISOString(),
          by_status: [...byStatus]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([status, count]) => ({ status, count })),
          by_vertical: rows.map((r) => ({
            vertical_id: r.vertical_id,
            vertical_code: r.vertical_code,
            status: r.status,
            count: r.n,
          })),
          expiring_within_days: days,
          expiring_soon: deadlines.expiring,
          in_grace: deadlines.grace,
        };
      });
    },

    imports(actor: Actor): Promise<ImportStats> {
      return read(actor, async (tx, tenantId) => {
        const rows = await repo.importRuns(tx, tenantId, IMPORT_DAYS);
        const byStatus = new Map<string, number>();
        const byDay = new Map<string, number>();
        const out = { runs: 0, rows_read: 0, rows_created: 0, rows_updated: 0, rows_rejected: 0 };
        for (const r of rows) {
          add(byStatus, r.status, r.runs);
          add(byDay, r.day, r.runs);
          out.runs += r.runs;
          out.rows_read += r.rows_read;
          out.rows_created += r.rows_created;
          out.rows_updated += r.rows_updated;
          out.rows_rejected += r.rows_rejected;
        }
        return {
          as_of: new Date().toISOString(),
          days: IMPORT_DAYS,
          ...out,
          by_status: [...byStatus]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([status, count]) => ({ status, count })),
          by_day: [...byDay].map(([day, count]) => ({ day, count })),
        };
      });
    },

    integrations(actor: Actor): Promise<IntegrationStats> {
      return read(actor, async (tx, tenantId) => {
        const rows = await repo.integrationCounts(tx, tenantId);
        return {
          as_of: new Date().toISOString(),
          total: rows.reduce((s, r) => s + r.n, 0),
          by_status: rows.map((r) => ({ status: r.status, count: r.n })),
        };
      });
    },
  };
}
export type StatsService = ReturnType<typeof createStatsService>;
