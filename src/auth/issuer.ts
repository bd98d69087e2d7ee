import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';

/**
 * The `iss` of every access token, one per deployment: fixed in the database by the first process
 * that starts (HEARTH_PUBLIC_URL when that process had it set, otherwise a generated URN), and read
 * from there by every later process, so a token issued by one process verifies on all of them
 * whatever each one's own HEARTH_PUBLIC_URL says (docs/decisions/0090).
 */
export async function deploymentIssuer(db: Queryable, configuredPublicUrl: string | null): Promise<string> {
  const proposed = configuredPublicUrl ?? `urn:hearth:${randomUUID()}`;
  const { rows } = await db.query<{ issuer: string }>(
    `WITH ins AS (INSERT INTO deployment (singleton, issuer) VALUES (true, $1) ON CONFLICT DO NOTHING RETURNING issuer)
     SELECT issuer FROM ins UNION ALL SELECT issuer FROM deployment LIMIT 1`,
    [proposed],
  );
  return rows[0].issuer;
}
