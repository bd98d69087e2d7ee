import { visibleSql } from '../access/consent-filter.js';
import { assertSearchable, decideMany, mayMatch } from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { readTx, requireTenant } from '../db/tx.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import type { VocabularyService } from '../vocabulary/service.js';
import { identityKey } from './normalize.js';
import { findPersons } from './person-repo.js';
import type { PersonView } from './person-schemas.js';
import { likeLiteral, Params } from './person-search.js';
import { personView } from './person-view.js';

export type Comparator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
const SQL_OP: Record<Comparator, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };

export interface PersonFilter {
  /** Persons holding this identity (type may be null: any type), or this Hearth id. */
  identity?: { type: string | null; number: string };
  personId?: string;
  /** Part of the full name, case-insensitively. */
  name?: string;
  birthDate?: { op: Comparator; date: string }[];
  /** A gender code (an unknown code matches nobody). */
  gender?: string;
  /** Open members of this household; null: persons in no household. */
  householdId?: string | null;
  updatedAt?: { op: Comparator; at: string }[];
  status: 'active' | 'archived' | 'all';
  sort: { key: 'name' | 'birth_date' | 'updated_at'; desc: boolean }[];
  offset: number;
  count: number;
}

const SORT_COLUMN = { name: 'lower(p.full_name)', birth_date: 'p.date_of_birth', updated_at: 'p.updated_at' };
const SORT_FIELD = { name: 'full_name', birth_date: 'date_of_birth', updated_at: 'updated_at' };

/**
 * Structured person search with offset paging and an exact total (OpenSPP API V2). Every filter
 * and sort key other than an exact identifier is a field the caller must be allowed to see
 * (src/access: assertSearchable), and a person only matches when the caller could see every field used, so neither
 * the rows nor `total` reveal hidden persons or hidden values.
 */
export function createPersonFilterSearch(deps: {
  db: Database;
  settings: TenantSettingsCache;
  vocabularies: VocabularyService;
  /** Read replicas (absent, as in a unit of work: the primary). */
  reads?: ReadReplicas;
}) {
  const { db, vocabularies, reads } = deps;
  return {
    async search(actor: Actor, f: PersonFilter): Promise<{ data: PersonView[]; total: number }> {
      const tenantId = requireTenant(actor);
      return readTx(db, reads, actor, async (tx) => {
        const reader = await readerOf(tx, actor, tenantId);
        const p = new Params();
        const tenant = p.add(tenantId);
        const where = [`p.tenant_id = ${tenant}`];
        const matched: string[] = [];
        if (f.status !== 'all') where.push(`p.status = ${p.add(f.status)}`);
        if (f.personId) where.push(`p.id = ${p.add(f.personId)}::uuid`);
        if (f.identity) {
          // An exact identifier the caller holds: no match restriction, the hit still passes the decision.
          const key = identityKey(f.identity.number);
          where.push(`p.id IN (SELECT person_id FROM person_identities WHERE tenant_id = ${tenant}
            AND identity_key = ${p.add(key)} AND removed_at IS NULL AND status <> 'invalid'
            AND (${p.add(f.identity.type)}::text IS NULL OR identity_type = $${p.values.length}))`);
        }
        if (f.name !== undefined) {
          matched.push('full_name');
          where.push(
            `lower(p.full_name) LIKE ${p.add(`%${likeLiteral(f.name.trim().toLowerCase())}%`)} ESCAPE '\\'`,
          );
        }
        for (const b of f.birthDate ?? []) {
          matched.push('date_of_birth');
          where.push(`p.date_of_birth ${SQL_OP[b.op]} ${p.add(b.date)}::date`);
        }
        let unknownCode = false;
        if (f.gender !== undefined) {
          matched.push('gender');
          unknownCode = (await vocabularies.display(tx, tenantId, 'gender', f.gender)) === null;
          where.push(`p.gender = ${p.add(f.gender)}`);
        }
        if (f.householdId !== undefined) {
          matched.push('household_id');
          where.push(
            f.householdId === null
              ? `NOT EXISTS (SELECT 1 FROM household_members m WHERE m.tenant_id = p.tenant_id AND m.person_id = p.id AND m.ended_at IS NULL)`
              : `EXISTS (SELECT 1 FROM household_members m WHERE m.tenant_id = p.tenant_id AND m.person_id = p.id
                  AND m.ended_at IS NULL AND m.household_id = ${p.add(f.householdId)}::uuid)`,
          );
        }
        for (const u of f.updatedAt ?? [])
          where.push(`p.updated_at ${SQL_OP[u.op]} ${p.add(u.at)}::timestamptz`);
        for (const s of f.sort) matched.push(SORT_FIELD[s.key]);
        for (const field of new Set(matched)) assertSearchable(reader, field);
        if (unknownCode) return { data: [], total: 0 };
        where.push(visibleSql(reader, (v) => p.add(v), 'p.tenant_id', 'p.id', [...new Set(matched)]));

        const cond = where.join(' AND ');
        const total = (
          await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM persons p WHERE ${cond}`, p.values)
        ).rows[0].n;
        const order = [
          ...f.sort.map((s) => `${SORT_COLUMN[s.key]} ${s.desc ? 'DESC' : 'ASC'} NULLS LAST`),
          'p.id',
        ];
        const { rows } = await tx.query<{ id: string }>(
          `SELECT p.id FROM persons p WHERE ${cond} ORDER BY ${order.join(', ')} OFFSET ${p.add(f.offset)} LIMIT ${p.add(f.count)}`,
          p.values,
        );
        const ids = rows.map((r) => r.id);
        const decisions = await decideMany(tx, actor, tenantId, ids, 'search');
        const persons = await findPersons(tx, tenantId, ids);
        const data = persons
          .filter((row) => mayMatch(decisions.get(row.id), matched))
          .map((row) => personView(row, decisions.get(row.id)!));
        return { data, total };
      });
    },
  };
}

export type PersonFilterSearch = ReturnType<typeof createPersonFilterSearch>;
