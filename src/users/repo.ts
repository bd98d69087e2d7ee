import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { User } from './schemas.js';

const COLUMNS = `id AS user_id, username::text AS username, display_name, email, tenant_id, roles, scopes,
  vertical_ids, allowed_programs, active,
  CASE WHEN oidc_issuer IS NULL THEN 'local' ELSE 'oidc' END AS auth_source,
  password_hash IS NOT NULL AS has_password, password_must_change, totp_enabled,
  CASE WHEN locked_until > now() THEN locked_until END AS locked_until, last_login_at, version_id,
  created_at, updated_at`;

export interface NewUser {
  id: string;
  tenantId: string | null;
  username: string;
  displayName: string | null;
  email: string | null;
  passwordHash: string | null;
  passwordMustChange: boolean;
  roles: string[];
  scopes: string[];
  verticalIds: string[];
  allowedPrograms: string[];
  oidcIssuer: string | null;
  oidcSubject: string | null;
  createdBy: string;
}

export async function insertUser(q: Queryable, u: NewUser): Promise<User> {
  const { rows } = await q.query<User>(
    `INSERT INTO users (id, tenant_id, username, display_name, email, password_hash, password_must_change,
       roles, scopes, vertical_ids, allowed_programs, oidc_issuer, oidc_subject, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     RETURNING ${COLUMNS}`,
    [
      u.id,
      u.tenantId,
      u.username,
      u.displayName,
      u.email,
      u.passwordHash,
      u.passwordMustChange,
      u.roles,
      u.scopes,
      u.verticalIds,
      u.allowedPrograms,
      u.oidcIssuer,
      u.oidcSubject,
      u.createdBy,
    ],
  );
  return rows[0];
}

export async function findUser(q: Queryable, userId: string): Promise<User | null> {
  const { rows } = await q.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [userId]);
  return rows[0] ?? null;
}

export async function findUserByUsername(q: Queryable, username: string): Promise<User | null> {
  const { rows } = await q.query<User>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [username]);
  return rows[0] ?? null;
}

export async function findUserByOidcSubject(
  q: Queryable,
  issuer: string,
  subject: string,
): Promise<User | null> {
  const { rows } = await q.query<User>(
    `SELECT ${COLUMNS} FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`,
    [issuer, subject],
  );
  return rows[0] ?? null;
}

export async function listUsers(
  q: Queryable,
  filter: { tenantId: string | null; afterId: string | null; limit: number },
): Promise<User[]> {
  const { rows } = await q.query<User>(
    `SELECT ${COLUMNS} FROM users
      WHERE ($1::uuid IS NULL OR tenant_id = $1) AND id > $2
      ORDER BY id LIMIT $3`,
    [filter.tenantId, filter.afterId ?? NIL_UUID, filter.limit + 1],
  );
  return rows;
}

/** Columns a PATCH may set (names are fixed here, values are parameters). */
const SETTABLE = [
  'display_name',
  'email',
  'roles',
  'scopes',
  'vertical_ids',
  'allowed_programs',
  'active',
  'password_hash',
  'password_must_change',
  'totp_secret',
  'totp_enabled',
  'totp_last_step',
  'failed_logins',
  'locked_until',
] as const;
export type UserColumn = (typeof SETTABLE)[number];

export async function updateUser(
  q: Queryable,
  userId: string,
  set: Partial<Record<UserColumn, unknown>>,
): Promise<User | null> {
  const names = SETTABLE.filter((c) => c in set);
  const assignments = names.map((c, i) => `${c} = $${i + 2}`);
  const { rows } = await q.query<User>(
    `UPDATE users SET ${[...assignments, 'version_id = version_id + 1', 'updated_at = now()'].join(', ')}
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [userId, ...names.map((c) => set[c])],
  );
  return rows[0] ?? null;
}

/** Ends every browser session of a user (deactivation, password reset, role change is not one). */
export async function deleteSessionsOf(
  q: Queryable,
  userId: string,
  exceptSessionId?: string,
): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM user_sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2)',
    [userId, exceptSessionId ?? null],
  );
  return rowCount;
}

/** What sign-in needs about a user and its tenant, read across tenants. */
export interface LoginRecord {
  id: string;
  tenant_id: string | null;
  username: string;
  password_hash: string | null;
  password_must_change: boolean;
  active: boolean;
  totp_secret: string | null;
  totp_enabled: boolean;
  totp_last_step: string | null;
  failed_logins: number;
  locked_until: Date | null;
  tenant_active: boolean;
  tenant_requires_totp: boolean;
}

export async function loadLoginRecord(
  q: Queryable,
  where: { username: string } | { id: string },
): Promise<LoginRecord | null> {
  const byName = 'username' in where;
  const { rows } = await q.query<LoginRecord>(
    `SELECT u.id, u.tenant_id, u.username::text AS username, u.password_hash, u.password_must_change,
            u.active, u.totp_secret, u.totp_enabled, u.totp_last_step::text AS totp_last_step,
            u.failed_logins, u.locked_until,
            (u.tenant_id IS NULL OR t.status = 'active') AS tenant_active,
            COALESCE((t.settings->>'require_totp')::boolean, false) AS tenant_requires_totp
       FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id
      WHERE ${byName ? 'u.username = $1' : 'u.id = $1'}`,
    [byName ? where.username : where.id],
  );
  return rows[0] ?? null;
}
