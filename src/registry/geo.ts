import { type Static, Type } from 'typebox';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Queryable } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { Body, DateTime, Nullable, Uuid } from '../http/schemas.js';
import { NIL_UUID, uuidv7 } from '../lib/ids.js';

export const GeoAreaCreate = Body({
  name: Type.String({ minLength: 1, maxLength: 200, examples: ['Nairobi'] }),
  code: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', examples: ['KE-047'] })),
  parent_geo_id: Type.Optional(Uuid()),
  level: Type.Integer({ minimum: 0, maximum: 20, description: '0 = country, then region, district…' }),
  centroid_lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
  centroid_lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
});
export type GeoAreaCreate = Static<typeof GeoAreaCreate>;

export const GeoArea = Type.Object({
  geo_id: Uuid(),
  code: Nullable(Type.String()),
  parent_geo_id: Nullable(Uuid()),
  name: Type.String(),
  level: Type.Integer(),
  centroid_lat: Nullable(Type.Number()),
  centroid_lon: Nullable(Type.Number()),
  created_at: DateTime(),
});
export type GeoArea = Static<typeof GeoArea>;

const COLUMNS = `id AS geo_id, code, parent_id AS parent_geo_id, name, level, centroid_lat, centroid_lon, created_at`;

/** Refuses a geo_id that is not an area of the tenant. */
export async function assertGeoArea(
  q: Queryable,
  tenantId: string,
  geoId: string,
  field = 'geo_id',
): Promise<void> {
  const { rowCount } = await q.query('SELECT 1 FROM geo_areas WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    geoId,
  ]);
  if (rowCount === 0) {
    throw new AppError('ERR_VAL_RULE_VIOLATION', `${field}: no such geo area in this tenant`, {
      errors: [{ field, message: 'no such geo area in this tenant' }],
    });
  }
}

export function createGeoService(db: Database) {
  return {
    async create(actor: Actor, input: GeoAreaCreate): Promise<GeoArea> {
      const tenantId = requireTenant(actor);
      if ((input.centroid_lat === undefined) !== (input.centroid_lon === undefined)) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', 'centroid_lat and centroid_lon go together', {
          errors: [{ field: 'centroid_lon', message: 'centroid_lat and centroid_lon go together' }],
        });
      }
      try {
        return await tenantTx(db, actor, async (tx) => {
          let path: string[] = [];
          if (input.parent_geo_id) {
            const { rows } = await tx.query<{ path: string[]; level: number }>(
              'SELECT path, level FROM geo_areas WHERE tenant_id = $1 AND id = $2',
              [tenantId, input.parent_geo_id],
            );
            if (rows.length === 0) {
              throw new AppError('ERR_VAL_RULE_VIOLATION', 'parent_geo_id: no such geo area in this tenant', {
                errors: [{ field: 'parent_geo_id', message: 'no such geo area in this tenant' }],
              });
            }
            if (input.level <= rows[0].level) {
              throw new AppError('ERR_VAL_RULE_VIOLATION', 'level must be deeper than the parent’s', {
                errors: [{ field: 'level', message: `must be greater than ${rows[0].level}` }],
              });
            }
            path = rows[0].path;
          }
          const id = uuidv7();
          const { rows } = await tx.query<GeoArea>(
            `INSERT INTO geo_areas (tenant_id, id, code, parent_id, name, level, centroid_lat, centroid_lon, path)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
            [
              tenantId,
              id,
              input.code ?? null,
              input.parent_geo_id ?? null,
              input.name,
              input.level,
              input.centroid_lat ?? null,
              input.centroid_lon ?? null,
              [...path, id],
            ],
          );
          await recordAudit(tx, actor, auditOf(actor, 'geo_area.create', { type: 'geo_area', id }));
          return rows[0];
        });
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation)
          throw conflict(`geo area code ${input.code} exists`, 'code');
        throw err;
      }
    },

    async get(actor: Actor, geoId: string): Promise<GeoArea> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<GeoArea>(
          `SELECT ${COLUMNS} FROM geo_areas WHERE tenant_id = $1 AND id = $2`,
          [tenantId, geoId],
        );
        return rows[0];
      });
      if (!row) throw notFound('geo area');
      return row;
    },

    async list(actor: Actor, q: { limit: number; cursor?: string; parent_geo_id?: string; level?: number }) {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<GeoArea>(
          `SELECT ${COLUMNS} FROM geo_areas
            WHERE tenant_id = $1 AND id > $2 AND ($3::uuid IS NULL OR parent_id = $3) AND ($4::int IS NULL OR level = $4)
            ORDER BY id LIMIT $5`,
          [
            tenantId,
            decodeIdCursor(q.cursor) ?? NIL_UUID,
            q.parent_geo_id ?? null,
            q.level ?? null,
            q.limit + 1,
          ],
        );
        return rows;
      });
      return pageOf(rows, q.limit, (r) => [r.geo_id]);
    },
  };
}

export type GeoService = ReturnType<typeof createGeoService>;
