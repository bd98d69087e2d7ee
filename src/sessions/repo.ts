import type { Queryable } from '../db/database.js';

export type SessionRestriction = 'password_change' | 'totp_enrolment';

export interface NewSession {
  tokenHash: Buffer;
  id: string;
  userId: string;
  tenantId: string | null;
  csrfToken: string;
  expiresAt: Date;
  restriction: SessionRestriction | null;
  authMethod: 'password' | 'oidc';
  ip: string | null;
  userAgent: string | null;
}

export async function insertSession(q: Queryable, s: NewSession): Promise<void> {
  await q.query(
    `INSERT INTO user_sessions (token_hash, id, user_id, tenant_id, csrf_token, expires_at, restriction,
       auth_method, ip, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      s.tokenHash,
      s.id,
      s.userId,
      s.tenantId,
      s.csrfToken,
      s.expiresAt,
      s.restriction,
      s.authMethod,
      s.ip,
      s.userAgent?.slice(0, 500) ?? null,
    ],
  );
}

/** A session with its user and tenant as one request needs them. */
export interface SessionRow {
  id: string;
  user_id: string;
  tenant_id: string | null;
  tenant_code: string | null;
  tenant_active: boolean;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  restriction: SessionRestriction | null;
  auth_method: 'password' | 'oidc';
  username: string;
  display_name: string | null;
  roles: string[];
  scopes: string[];
  vertical_ids: string[];
  allowed_programs: string[];
  active: boolean;
  now: Date;
}

export async function loadSession(q: Queryable, tokenHash: Buffer): Promise<SessionRow | null> {
  const { rows } = await q.query<SessionRow>(
    `SELECT s.id, s.user_id, s.tenant_id, t.code::text AS tenant_code,
            (s.tenant_id IS NULL OR t.status = 'active') AS tenant_active, s.csrf_token, s.created_at,
            s.last_seen_at, s.expires_at, s.restriction, s.auth_method, u.username::text AS username,
            u.display_name, u.roles, u.scopes, u.vertical_ids, u.allowed_programs, u.active, now() AS now
       FROM user_sessions s JOIN users u ON u.id = s.user_id LEFT JOIN tenants t ON t.id = s.tenant_id
      WHERE s.token_hash = $1`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Records use of a session; skipped when it was recorded recently (one write per minute at most). */
export async function touchSession(q: Queryable, id: string, minGapSeconds: number): Promise<Date | null> {
  const { rows } = await q.query<{ last_seen_at: Date }>(
    `UPDATE user_sessions SET last_seen_at = now()
      WHERE id = $1 AND last_seen_at < now() - make_interval(secs => $2) RETURNING last_seen_at`,
    [id, minGapSeconds],
  );
  return rows[0]?.last_seen_at ?? null;
}

export async function deleteSession(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM user_sessions WHERE id = $1', [id]);
}

export async function setRestriction(
  q: Queryable,
  id: string,
  restriction: SessionRestriction | null,
): Promise<void> {
  await q.query('UPDATE user_sessions SET restriction = $2 WHERE id = $1', [id, restriction]);
}

/** Deletes sessions past their absolute or idle timeout (periodic sweep; reads check both anyway). */
export async function deleteExpiredSessions(q: Queryable, idleSeconds: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM user_sessions
      WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => $1)`,
    [idleSeconds],
  );
  return rowCount;
}
