import { assertSearchable, decideMany, mayMatch } from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Queryable, Tx } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { trigramMatch } from '../db/trigram.js';
import { readTx, requireTenant } from '../db/tx.js';
import { AppError } from '../http/errors.js';
import { decodeCursor } from '../http/pagination.js';
import { isUuid } from '../lib/ids.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import type { VocabularyService } from '../vocabulary/service.js';
import { assertGeoArea } from './geo.js';
import { identityKey, phoneKey } from './normalize.js';
import { fillPage, type Key } from './paging.js';
import { findPersons } from './person-repo.js';
import type { PersonSearchQuery, PersonView } from './person-schemas.js';
import { personView } from './person-view.js';

/** Collects parameters while a statement is assembled from fixed fragments. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface RadiusQuery {
  lat: number;
  lon: number;
  radiusKm: number;
}

export function radiusOf(q: { lat?: number; lon?: number; radius_km?: number }): RadiusQuery | null {
  const given = [q.lat, q.lon, q.radius_km].filter((v) => v !== undefined).length;
  if (given === 0) return null;
  if (given < 3) {
    const missing = (['lat', 'lon', 'radius_km'] as const).filter((k) => q[k] === undefined);
    throw new AppError(
      'ERR_VAL_MISSING_FIELD',
      `a radius search needs lat, lon and radius_km (missing ${missing.join(', ')})`,
      {
        status: 400,
        errors: missing.map((field) => ({ field, message: 'is required for a radius search' })),
      },
    );
  }
  return { lat: q.lat!, lon: q.lon!, radiusKm: q.radius_km! };
}

/** Escapes LIKE wildcards so a search string matches literally. */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export type SearchHit = PersonView & {
  matched_fields: string[];
  distance_km?: number;
  position_source?: 'household' | 'geo_area_centroid';
  score?: number;
};

interface Candidate {
  id: string;
  distance_m?: number;
  src?: 'household' | 'geo_area_centroid';
  score?: number;
}

/** Candidate persons inside a radius: placed at their household, or else at their area's centroid. */
export function radiusCte(p: Params, tenant: string, r: RadiusQuery): string {
  const args = `${p.add(r.lat)}::float8, ${p.add(r.lon)}::float8, ${p.add(r.radiusKm * 1000)}::float8`;
  // households_within / geo_areas_within: index-served under row-level security (migration 0013).
  return `hh AS (SELECT id, distance_m AS d FROM households_within(${args})),
    ga AS (SELECT id, distance_m AS d FROM geo_areas_within(${args})),
    dist AS (
      SELECT p.id, hh.d, 'household' AS src FROM hh
        JOIN persons p ON p.tenant_id = ${tenant} AND p.household_id = hh.id
      UNION ALL
      SELECT p.id, ga.d, 'geo_area_centroid' FROM ga
        JOIN persons p ON p.tenant_id = ${tenant} AND p.geo_id = ga.id
        LEFT JOIN households h ON h.tenant_id = p.tenant_id AND h.id = p.household_id
       WHERE h.geo_lat IS NULL
      UNION ALL
      SELECT p.id, ga.d, 'geo_area_centroid' FROM ga
        JOIN households h ON h.tenant_id = ${tenant} AND h.geo_id = ga.id AND h.geo_lat IS NULL
        JOIN persons p ON p.tenant_id = ${tenant} AND p.household_id = h.id AND p.geo_id IS NULL)`;
}

/** Fuzzy name match: index-served on PostgreSQL (persons_named_like, migration 0013). */
function nameMatch(tx: Tx, value: string): string {
  return tx.raw.kind === 'pglite'
    ? trigramMatch(tx, 'lower(p.full_name)', value)
    : `p.id IN (SELECT id FROM persons_named_like(${value}))`;
}

export interface SearchDeps {
  db: Database;
  settings: TenantSettingsCache;
  vocabularies: VocabularyService;
  /** Read replicas for the search itself (absent: the primary). */
  reads?: ReadReplicas;
}

type Mode = 'distance' | 'score' | 'id';

export function createPersonSearch(deps: SearchDeps) {
  const { db, settings, vocabularies, reads } = deps;

  async function criterion(
    q: Tx,
    tenantId: string,
    p: Params,
    query: PersonSearchQuery,
  ): Promise<{ sql: string; matched: string[]; identifier?: string; score?: string }> {
    const id = query.criteria_id;
    const value = query.criteria_value;
    if (id === undefined && value === undefined) return { sql: 'true', matched: [] };
    if (id === undefined || value === undefined) {
      const missing = id === undefined ? 'criteria_id' : 'criteria_value';
      throw new AppError('ERR_VAL_MISSING_FIELD', 'criteria_id and criteria_value go together', {
        status: 400,
        errors: [{ field: missing, message: 'criteria_id and criteria_value go together' }],
      });
    }
    const bad = (message: string) =>
      new AppError('ERR_VAL_INVALID_FORMAT', `criteria_value: ${message}`, {
        status: 400,
        errors: [{ field: 'criteria_value', message }],
      });
    const s = await settings.get(q, tenantId);
    switch (id) {
      case 'identity': {
        // An exact identifier the caller holds: allowed, and the hit still passes the decision.
        const [type, number] = value.includes('|') ? value.split('|', 2) : [null, value];
        if (type !== null) await vocabularies.assertCode(q, tenantId, 'id-type', type, 'criteria_value');
        const key = identityKey(number);
        if (!key) throw bad('no identity number given');
        return {
          sql: `p.id IN (SELECT person_id FROM person_identities WHERE tenant_id = p.tenant_id AND identity_key = ${p.add(key)}
                 AND removed_at IS NULL AND (${p.add(type)}::text IS NULL OR identity_type = ${p.add(type)}))`,
          matched: [],
          identifier: 'identities.identity_number',
        };
      }
      case 'name': {
        const v = p.add(value.trim().toLowerCase());
        const like = p.add(`%${likeLiteral(value.trim().toLowerCase())}%`);
        return {
          sql: `(${nameMatch(q, v)} OR lower(p.full_name) LIKE ${like} ESCAPE '\\')`,
          matched: ['full_name'],
          score: `round(similarity(lower(p.full_name), ${v})::numeric, 6)`,
        };
      }
      case 'phone':
      case 'email': {
        const key = id === 'phone' ? phoneKey(value, s.defaultPhoneCountry) : value.trim().toLowerCase();
        if (!key) throw bad(`not a ${id}`);
        return {
          sql: `p.id IN (SELECT person_id FROM person_contacts WHERE tenant_id = p.tenant_id AND value_key = ${p.add(key)}
                 AND removed_at IS NULL)`,
          matched: [],
          identifier: 'contacts',
        };
      }
      case 'birth_date': {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))
          throw bad('must be YYYY-MM-DD');
        return { sql: `p.date_of_birth = ${p.add(value)}::date`, matched: ['date_of_birth'] };
      }
      case 'gender': {
        await vocabularies.assertCode(q, tenantId, 'gender', value, 'criteria_value');
        return { sql: `p.gender = ${p.add(value)}`, matched: ['gender'] };
      }
      case 'status':
      case 'verification_status': {
        const allowed = id === 'status' ? ['active', 'archived'] : ['provisional', 'verified'];
        if (!allowed.includes(value)) throw bad(`must be one of ${allowed.join(', ')}`);
        return { sql: `p.${id} = ${p.add(value)}`, matched: [id] };
      }
      default:
        throw bad('unknown criteria_id');
    }
  }

  return {
    async search(actor: Actor, query: PersonSearchQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const radius = radiusOf(query);
      return readTx(db, reads, actor, async (tx) => {
        const reader = await readerOf(tx, actor, tenantId);
        const p = new Params();
        const tenant = p.add(tenantId);
        const crit = await criterion(tx, tenantId, p, query);
        const matched = [...crit.matched];
        const where = [`p.tenant_id = ${tenant}`, crit.sql];
        const status = query.status ?? 'active';
        if (status !== 'all') where.push(`p.status = ${p.add(status)}`);
        if (query.geo_id) {
          await assertGeoArea(tx, tenantId, query.geo_id);
          where.push(`COALESCE(p.geo_id, (SELECT h2.geo_id FROM households h2 WHERE h2.tenant_id = p.tenant_id AND h2.id = p.household_id))
            IN (SELECT id FROM geo_areas WHERE tenant_id = ${tenant} AND path @> ARRAY[${p.add(query.geo_id)}::uuid])`);
          matched.push('geo_id');
        }
        // Every criterion, not only the sensitive-by-default ones: tenants may reclassify fields.
        for (const field of matched) assertSearchable(reader, field);
        let withClause = '';
        let from = 'persons p';
        let select = 'p.id';
        const mode: Mode = radius ? 'distance' : crit.score ? 'score' : 'id';
        if (radius) {
          assertSearchable(reader, 'position');
          withClause = `WITH ${radiusCte(p, tenant, radius)}`;
          from = 'persons p JOIN dist ON dist.id = p.id';
          select = 'p.id, dist.d AS distance_m, dist.src';
          matched.push('position');
        } else if (crit.score) {
          select = `p.id, ${crit.score} AS score`;
        }
        const cursor = decodeCursor(query.cursor, mode === 'id' ? 1 : 2);
        validateCursor(cursor, mode);

        const fetchChunk = async (after: Key | null, size: number): Promise<Candidate[]> => {
          const q = new Params();
          q.values.push(...p.values);
          const conds = [...where];
          let order = 'p.id';
          if (mode === 'distance') {
            order = 'dist.d, p.id';
            if (after) conds.push(`(dist.d, p.id) > (${q.add(after[0])}::float8, ${q.add(after[1])}::uuid)`);
          } else if (mode === 'score') {
            order = 'score DESC, p.id';
            if (after) {
              const sc = q.add(after[0]);
              conds.push(
                `(${crit.score} < ${sc}::numeric OR (${crit.score} = ${sc}::numeric AND p.id > ${q.add(after[1])}::uuid))`,
              );
            }
          } else if (after) conds.push(`p.id > ${q.add(after[0])}::uuid`);
          const { rows } = await tx.query<Candidate>(
            `${withClause} SELECT ${select} FROM ${from} WHERE ${conds.join(' AND ')} ORDER BY ${order} LIMIT ${q.add(size)}`,
            q.values,
          );
          return rows;
        };
        const keyOf = (c: Candidate): Key =>
          mode === 'distance' ? [c.distance_m!, c.id] : mode === 'score' ? [c.score!, c.id] : [c.id];

        const filter = async (rows: Candidate[]): Promise<SearchHit[]> => {
          const decisions = await decideMany(
            tx,
            actor,
            tenantId,
            rows.map((r) => r.id),
            'search',
          );
          const keep = rows.filter((r) => mayMatch(decisions.get(r.id), matched));
          const persons = new Map(
            (
              await findPersons(
                tx,
                tenantId,
                keep.map((r) => r.id),
              )
            ).map((x) => [x.id, x]),
          );
          return keep.map((r) => {
            const hit: SearchHit = {
              ...personView(persons.get(r.id)!, decisions.get(r.id)!),
              matched_fields: crit.identifier ? [crit.identifier, ...matched] : matched,
            };
            if (r.distance_m !== undefined) {
              hit.distance_km = Math.round(r.distance_m) / 1000;
              hit.position_source = r.src;
            }
            if (r.score !== undefined) hit.score = r.score;
            return hit;
          });
        };
        const viewKey = (v: SearchHit): Key =>
          mode === 'distance'
            ? [v.distance_km! * 1000, v.person_id]
            : mode === 'score'
              ? [v.score!, v.person_id]
              : [v.person_id];
        // distance_km is rounded for display: page from the exact distance of the last candidate returned.
        const exact = new Map<string, number>();
        const page = await fillPage(
          async (after, size) => {
            const rows = await fetchChunk(after, size);
            for (const r of rows) if (r.distance_m !== undefined) exact.set(r.id, r.distance_m);
            return rows;
          },
          keyOf,
          filter,
          (v) => (mode === 'distance' ? [exact.get(v.person_id)!, v.person_id] : viewKey(v)),
          cursor as Key | null,
          query.limit,
        );
        const warnings = radius ? await radiusWarnings(tx, actor, tenantId, page.data) : [];
        return { ...page, warnings };
      });
    },
  };
}

function validateCursor(cursor: (string | number | null)[] | null, mode: Mode): void {
  if (!cursor) return;
  const id = cursor[cursor.length - 1];
  const ok =
    typeof id === 'string' &&
    isUuid(id) &&
    (mode === 'id' || (typeof cursor[0] === 'number' && Number.isFinite(cursor[0])));
  if (!ok) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'cursor is not a cursor this server issued', {
      status: 400,
      errors: [{ field: 'cursor', message: 'invalid cursor' }],
    });
  }
}

async function radiusWarnings(q: Queryable, actor: Actor, tenantId: string, hits: SearchHit[]) {
  const warnings: { code: string; message: string }[] = [];
  if (hits.some((h) => h.position_source === 'geo_area_centroid')) {
    warnings.push({
      code: 'APPROXIMATE_POSITION',
      message: 'some results have no household coordinates and are placed at the centroid of their geo area',
    });
  }
  // Consent-bound callers get the notice unconditionally, so it tells nothing about hidden persons.
  const unplaced =
    actor.principal.consentBound ||
    (
      await q.query(
        `SELECT 1 FROM persons p
           LEFT JOIN households h ON h.tenant_id = p.tenant_id AND h.id = p.household_id
           LEFT JOIN geo_areas g ON g.tenant_id = p.tenant_id AND g.id = COALESCE(p.geo_id, h.geo_id)
          WHERE p.tenant_id = $1 AND p.status = 'active' AND h.geo_lat IS NULL AND g.centroid_lat IS NULL LIMIT 1`,
        [tenantId],
      )
    ).rowCount > 0;
  if (unplaced) {
    warnings.push({
      code: 'POSITION_UNKNOWN',
      message:
        'records with neither household coordinates nor a geo-area centroid cannot be placed and are not in radius results; search by geo_id instead',
    });
  }
  return warnings;
}
