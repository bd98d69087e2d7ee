import { consentAllowsSql } from '../access/consent-filter.js';
import { decideMany } from '../access/person-access.js';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { readTx, requireTenant } from '../db/tx.js';
import type { VocabularyService } from '../vocabulary/service.js';
import { findHouseholds } from './household-repo.js';
import type { HouseholdView } from './household-schemas.js';
import { householdView } from './household-service.js';
import { identityKey } from './normalize.js';
import type { Comparator } from './person-filter-search.js';
import { likeLiteral, Params } from './person-search.js';

const SQL_OP: Record<Comparator, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };

export interface HouseholdFilter {
  identity?: { type: string | null; number: string };
  householdId?: string;
  /** Part of the household name, case-insensitively. */
  name?: string;
  /** Households with an open membership of this person. */
  memberPersonId?: string;
  /** A group-kind code (an unknown code matches nothing). */
  kind?: string;
  updatedAt?: { op: Comparator; at: string }[];
  includeArchived: boolean;
  sort: { key: 'name' | 'updated_at'; desc: boolean }[];
  offset: number;
  count: number;
}

const SORT_COLUMN = { name: 'lower(h.household_name)', updated_at: 'h.updated_at' };

/**
 * Structured household search with offset paging and an exact total (OpenSPP API V2). A household
 * is seen through its leader's consent: for consent-bound callers, households whose leader has no
 * consent are neither returned nor counted.
 */
export function createHouseholdFilterSearch(deps: {
  db: Database;
  vocabularies: VocabularyService;
  /** Read replicas (absent, as in a unit of work: the primary). */
  reads?: ReadReplicas;
}) {
  const { db, vocabularies, reads } = deps;
  return {
    async search(actor: Actor, f: HouseholdFilter): Promise<{ data: HouseholdView[]; total: number }> {
      const tenantId = requireTenant(actor);
      return readTx(db, reads, actor, async (tx) => {
        const p = new Params();
        const tenant = p.add(tenantId);
        const where = [`h.tenant_id = ${tenant}`];
        if (!f.includeArchived) where.push(`h.status <> 'archived'`);
        if (f.householdId) where.push(`h.id = ${p.add(f.householdId)}::uuid`);
        if (f.identity) {
          where.push(`h.id IN (SELECT household_id FROM household_identities WHERE tenant_id = ${tenant}
            AND identity_key = ${p.add(identityKey(f.identity.number))} AND removed_at IS NULL AND status <> 'invalid'
            AND (${p.add(f.identity.type)}::text IS NULL OR identity_type = $${p.values.length}))`);
        }
        if (f.name !== undefined) {
          where.push(
            `lower(h.household_name) LIKE ${p.add(`%${likeLiteral(f.name.trim().toLowerCase())}%`)} ESCAPE '\\'`,
          );
        }
        if (f.memberPersonId) {
          where.push(`EXISTS (SELECT 1 FROM household_members m WHERE m.tenant_id = h.tenant_id AND m.household_id = h.id
            AND m.ended_at IS NULL AND m.person_id = ${p.add(f.memberPersonId)}::uuid)`);
        }
        if (f.kind !== undefined) {
          if ((await vocabularies.display(tx, tenantId, 'group-kind', f.kind)) === null)
            return { data: [], total: 0 };
          where.push(`h.group_kind = ${p.add(f.kind)}`);
        }
        for (const u of f.updatedAt ?? [])
          where.push(`h.updated_at ${SQL_OP[u.op]} ${p.add(u.at)}::timestamptz`);
        const principal = actor.principal;
        if (!principal.isRoot && principal.consentBound) {
          const verticals = principal.verticalIds.length > 0 ? [...principal.verticalIds] : null;
          where.push(consentAllowsSql((v) => p.add(v), 'h.tenant_id', 'h.leader_id', verticals));
        }
        const cond = where.join(' AND ');
        const total = (
          await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM households h WHERE ${cond}`, p.values)
        ).rows[0].n;
        const order = [...f.sort.map((s) => `${SORT_COLUMN[s.key]} ${s.desc ? 'DESC' : 'ASC'}`), 'h.id'];
        const { rows } = await tx.query<{ id: string }>(
          `SELECT h.id FROM households h WHERE ${cond} ORDER BY ${order.join(', ')} OFFSET ${p.add(f.offset)} LIMIT ${p.add(f.count)}`,
          p.values,
        );
        const households = await findHouseholds(
          tx,
          tenantId,
          rows.map((r) => r.id),
        );
        const decisions = await decideMany(
          tx,
          actor,
          tenantId,
          households.map((h) => h.leader_id),
          'search',
        );
        const data = households
          .filter((h) => decisions.get(h.leader_id)?.visible)
          .map((h) => householdView(h, decisions.get(h.leader_id)!));
        return { data, total };
      });
    },
  };
}

export type HouseholdFilterSearch = ReturnType<typeof createHouseholdFilterSearch>;
