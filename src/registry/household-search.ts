import { consentRankSql, stateOfRank } from '../access/consent-state.js';
import { assertSearchable, decider, mayMatch } from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { readTx, requireTenant } from '../db/tx.js';
import { AppError } from '../http/errors.js';
import { decodeCursor } from '../http/pagination.js';
import { isUuid } from '../lib/ids.js';
import { assertGeoArea } from './geo.js';
import type { HouseholdRow } from './household-repo.js';
import type { HouseholdSearchQuery, HouseholdView } from './household-schemas.js';
import { householdView } from './household-service.js';
import { fillPage, type Key } from './paging.js';
import { likeLiteral, Params, radiusOf } from './person-search.js';

type Hit = HouseholdView & { matched_fields: string[]; distance_km?: number; position_source?: string };

/** A household found, with its leader's consent state rank (stateOfRank) read by the same statement. */
type Candidate = HouseholdRow & { state_rank: number | null; distance_m?: number; src?: string };

/**
 * Household search by area (descendants included), status and radius. A household is placed at
 * its own coordinates, or else at its area's centroid; both come from spatial indexes.
 */
export function createHouseholdSearch(db: Database, reads?: ReadReplicas) {
  return {
    /** `name`: a case-insensitive part of the household name (used by the compatibility faces). */
    async search(actor: Actor, query: HouseholdSearchQuery & { limit: number; name?: string }) {
      const tenantId = requireTenant(actor);
      const radius = radiusOf(query);
      return readTx(db, reads, actor, async (tx) => {
        const reader = await readerOf(tx, actor, tenantId);
        const p = new Params();
        const tenant = p.add(tenantId);
        const where = [`h.tenant_id = ${tenant}`];
        const matched: string[] = [];
        const status = query.status ?? 'active';
        if (status === 'active') where.push(`h.status <> 'archived'`);
        else if (status !== 'all') where.push(`h.status = ${p.add(status)}`);
        if (query.name !== undefined) {
          const name = query.name.trim().toLowerCase();
          if (!name) {
            throw new AppError('ERR_VAL_INVALID_FORMAT', 'name must not be blank', {
              status: 400,
              errors: [{ field: 'name', message: 'must not be blank' }],
            });
          }
          where.push(`lower(h.household_name) LIKE ${p.add(`%${likeLiteral(name)}%`)} ESCAPE '\\'`);
          matched.push('household_name');
        }
        if (query.geo_id) {
          await assertGeoArea(tx, tenantId, query.geo_id);
          where.push(
            `h.geo_id IN (SELECT id FROM geo_areas WHERE tenant_id = ${tenant} AND path @> ARRAY[${p.add(query.geo_id)}::uuid])`,
          );
          matched.push('geo_id');
        }
        let withClause = '';
        let from = 'households h';
        // The page, the household columns its view needs and each leader's consent state among
        // the reader's verticals, in one statement: no consent query or read-back per page.
        const verticals = p.add(reader.verticals ? [...reader.verticals] : null);
        const household = `h.*, (SELECT count(*) FROM household_members m
            WHERE m.tenant_id = h.tenant_id AND m.household_id = h.id AND m.ended_at IS NULL) AS member_count,
          (SELECT min(${consentRankSql('c')}) FROM consents c
            WHERE c.tenant_id = h.tenant_id AND c.person_id = h.leader_id
              AND (${verticals}::uuid[] IS NULL OR c.vertical_id = ANY (${verticals}::uuid[]))) AS state_rank`;
        let select = household;
        if (radius) {
          assertSearchable(reader, 'position');
          const args = `${p.add(radius.lat)}::float8, ${p.add(radius.lon)}::float8, ${p.add(radius.radiusKm * 1000)}::float8`;
          // Index-served under row-level security (migration 0013).
          withClause = `WITH dist AS (
              SELECT id, distance_m AS d, 'household' AS src FROM households_within(${args})
              UNION ALL
              SELECT h.id, ga.distance_m, 'geo_area_centroid' FROM geo_areas_within(${args}) ga
                JOIN households h ON h.tenant_id = ${tenant} AND h.geo_id = ga.id AND h.geo_lat IS NULL)`;
          from = 'households h JOIN dist ON dist.id = h.id';
          select = `${household}, dist.d AS distance_m, dist.src`;
          matched.push('position');
        }
        for (const f of matched) if (f !== 'position') assertSearchable(reader, `household.${f}`);
        const cursor = decodeCursor(query.cursor, radius ? 2 : 1);
        if (
          cursor &&
          !(typeof cursor[cursor.length - 1] === 'string' && isUuid(cursor[cursor.length - 1] as string))
        ) {
          throw new AppError('ERR_VAL_INVALID_FORMAT', 'cursor is not a cursor this server issued', {
            status: 400,
            errors: [{ field: 'cursor', message: 'invalid cursor' }],
          });
        }
        const exact = new Map<string, number>();
        const fetchChunk = async (after: Key | null, size: number): Promise<Candidate[]> => {
          const q = new Params();
          q.values.push(...p.values);
          const conds = [...where];
          if (after && radius)
            conds.push(`(dist.d, h.id) > (${q.add(after[0])}::float8, ${q.add(after[1])}::uuid)`);
          else if (after) conds.push(`h.id > ${q.add(after[0])}::uuid`);
          const { rows } = await tx.query<Candidate>(
            `${withClause} SELECT ${select} FROM ${from} WHERE ${conds.join(' AND ')}
              ORDER BY ${radius ? 'dist.d, h.id' : 'h.id'} LIMIT ${q.add(size)}`,
            q.values,
          );
          for (const r of rows) if (r.distance_m !== undefined) exact.set(r.id, r.distance_m);
          return rows;
        };
        const decideLeader = decider(reader, 'search', actor.audit);
        const filter = async (rows: Candidate[]): Promise<Hit[]> => {
          // Household fields are matched as the reader sees `household.<field>` of the head.
          const fields = matched.map((f) => (f === 'position' ? f : `household.${f}`));
          const out: Hit[] = [];
          for (const r of rows) {
            const d = decideLeader(stateOfRank(r.state_rank));
            if (!mayMatch(d, fields)) continue;
            const { state_rank: _rank, distance_m, src, ...row } = r;
            const hit: Hit = { ...householdView(row as HouseholdRow, d), matched_fields: matched };
            if (distance_m !== undefined) {
              hit.distance_km = Math.round(distance_m) / 1000;
              hit.position_source = src;
            }
            out.push(hit);
          }
          return out;
        };
        const page = await fillPage(
          fetchChunk,
          (c) => (radius ? [c.distance_m!, c.id] : [c.id]),
          filter,
          (v) => (radius ? [exact.get(v.household_id)!, v.household_id] : [v.household_id]),
          cursor as Key | null,
          query.limit,
        );
        const warnings: { code: string; message: string }[] = [];
        if (radius && page.data.some((h) => h.position_source === 'geo_area_centroid')) {
          warnings.push({
            code: 'APPROXIMATE_POSITION',
            message: 'some households have no coordinates and are placed at the centroid of their geo area',
          });
        }
        if (radius) {
          warnings.push({
            code: 'POSITION_UNKNOWN',
            message:
              'households with neither coordinates nor a geo-area centroid cannot be placed; search by geo_id instead',
          });
        }
        return { ...page, warnings };
      });
    },
  };
}
