import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';

export interface VersionRow {
  resourceType: string;
  resourceId: string;
  versionId: number;
  change: string;
  fields: string[];
  oldValues?: Record<string, unknown> | null;
  newValues?: Record<string, unknown> | null;
  reasonCode?: string | null;
  reasonText?: string | null;
}

/** Records one version of a registry record in the change's transaction. */
export async function recordVersion(
  tx: Queryable,
  actor: Actor,
  tenantId: string,
  v: VersionRow,
): Promise<void> {
  await tx.query(
    `INSERT INTO record_versions (tenant_id, resource_type, resource_id, version_id, changed_by, source_system, change,
       fields, old_values, new_values, reason_code, reason_text)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      tenantId,
      v.resourceType,
      v.resourceId,
      v.versionId,
      actor.principal.clientId,
      actor.sourceSystem,
      v.change,
      v.fields,
      v.oldValues ? JSON.stringify(v.oldValues) : null,
      v.newValues ? JSON.stringify(v.newValues) : null,
      v.reasonCode ?? null,
      v.reasonText ?? null,
    ],
  );
}

export interface StoredVersion {
  version_id: number;
  changed_at: Date;
  changed_by: string | null;
  source_system: string | null;
  change: string;
  fields: string[];
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  reason_code: string | null;
  reason_text: string | null;
}

export async function listVersions(
  q: Queryable,
  tenantId: string,
  resourceType: string,
  resourceId: string,
): Promise<StoredVersion[]> {
  const { rows } = await q.query<StoredVersion>(
    `SELECT version_id, changed_at, changed_by, source_system, change, fields, old_values, new_values, reason_code, reason_text
       FROM record_versions WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3 ORDER BY version_id`,
    [tenantId, resourceType, resourceId],
  );
  return rows;
}
