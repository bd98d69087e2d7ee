import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendAudit, auditOf, recordAudit } from '../audit/audit.js';
import type { Actor, Principal } from '../auth/principal.js';
import { isRole, isScope, type Role, type Scope, scopesOfRoles } from '../auth/scopes.js';
import { hashSecret, verifySecret } from '../auth/secrets.js';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { assertAcceptablePassword } from '../users/passwords.js';
import { deleteSessionsOf, type LoginRecord, loadLoginRecord, updateUser } from '../users/repo.js';
import { acceptTotp, newTotpSecret, totpUri } from '../users/totp.js';
import * as repo from './repo.js';

export const SESSION_COOKIE = 'hearth_session';

/** What sign-in answers and `GET /auth/session` repeats (the console's contract). */
export interface SessionBody {
  user: {
    id: string;
    username: string;
    display_name: string | null;
    tenant_id: string | null;
    tenant_code: string | null;
    roles: string[];
    scopes: string[];
    verticals: string[];
    allowed_programs: string[];
    is_root: boolean;
  };
  csrf_token: string;
  expires_at: string;
  idle_expires_at: string;
  /** Set while the session may only complete sign-in: replace a one-time password, or enrol TOTP. */
  restriction: repo.SessionRestriction | null;
  auth_method: 'password' | 'oidc';
}

export interface IssuedSession {
  token: string;
  expiresAt: Date;
  body: SessionBody;
}

export interface ResolvedSession {
  row: repo.SessionRow;
  principal: Principal;
  body: SessionBody;
}

/** Request facts for audit; no HTTP types cross into this module. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  correlationId: string;
}

export interface LoginInput {
  username: string;
  password: string;
  totp?: string;
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

const invalidCredentials = () =>
  new AppError('ERR_AUTH_INVALID', 'the username, password or code is not valid');

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Scopes a user holds now: its granted scopes, bounded by its roles (as for clients). */
function userScopes(roles: readonly Role[], scopes: readonly string[]): Set<Scope> {
  const byRole = scopesOfRoles(roles);
  return new Set(scopes.filter((s): s is Scope => isScope(s) && byRole.has(s)));
}

/** A signed-in person as a principal: it acts as the pseudo-client `user:<username>`. */
export function principalOfSession(row: repo.SessionRow): Principal {
  const roles = row.roles.filter(isRole);
  return {
    clientId: `user:${row.username}`,
    tenantId: row.tenant_id,
    roles,
    scopes: userScopes(roles, row.scopes),
    verticalIds: row.vertical_ids,
    allowedPrograms: row.allowed_programs,
    integrationId: null,
    consentBound: false,
    sourceSystem: null,
    rateLimitPerMinute: null,
    isRoot: roles.includes('root'),
    userId: row.user_id,
    username: row.username,
  };
}

function actorOf(principal: Principal, meta: RequestMeta): Actor {
  return {
    principal,
    tenantId: principal.tenantId,
    correlationId: meta.correlationId,
    ip: meta.ip,
    sourceSystem: null,
    audit: { recorded: false },
  };
}

export interface SessionServiceDeps {
  db: Database;
  config: Config;
  limiter: RateLimiter;
}

export function createSessionService({ db, config, limiter }: SessionServiceDeps) {
  const { idleSeconds, absoluteSeconds } = config.sessions;
  // Last use is written at most this often; the idle window is honoured to within this margin.
  const touchGap = Math.min(60, Math.floor(idleSeconds / 4));
  let dummyHash: Promise<string> | null = null;

  function bodyOf(row: repo.SessionRow, principal: Principal): SessionBody {
    const idleEnd = Math.min(row.last_seen_at.getTime() + idleSeconds * 1000, row.expires_at.getTime());
    return {
      user: {
        id: row.user_id,
        username: row.username,
        display_name: row.display_name,
        tenant_id: row.tenant_id,
        tenant_code: row.tenant_code,
        roles: [...principal.roles],
        scopes: [...principal.scopes].sort(),
        verticals: row.vertical_ids,
        allowed_programs: row.allowed_programs,
        is_root: principal.isRoot,
      },
      csrf_token: row.csrf_token,
      expires_at: row.expires_at.toISOString(),
      idle_expires_at: new Date(idleEnd).toISOString(),
      restriction: row.restriction,
      auth_method: row.auth_method,
    };
  }

  async function load(q: Queryable, token: string): Promise<ResolvedSession> {
    const row = await repo.loadSession(q, hashToken(token));
    if (!row) throw new AppError('ERR_AUTH_INVALID', 'not signed in (no session, or it was ended)');
    const now = row.now.getTime();
    if (row.expires_at.getTime() <= now || row.last_seen_at.getTime() + idleSeconds * 1000 <= now) {
      await repo.deleteSession(q, row.id);
      throw new AppError('ERR_AUTH_EXPIRED', 'the session has expired; sign in again');
    }
    if (!row.active || !row.tenant_active) {
      await repo.deleteSession(q, row.id);
      throw new AppError('ERR_AUTH_INVALID', 'not signed in (the account is no longer active)');
    }
    if (now - row.last_seen_at.getTime() >= touchGap * 1000) {
      const seen = await repo.touchSession(q, row.id, touchGap);
      if (seen) row.last_seen_at = seen;
    }
    const principal = principalOfSession(row);
    return { row, principal, body: bodyOf(row, principal) };
  }

  /** Opens a session for a user whose credentials were checked; audited as `user.login`. */
  async function open(
    user: { id: string; tenant_id: string | null },
    method: 'password' | 'oidc',
    restriction: repo.SessionRestriction | null,
    meta: RequestMeta,
  ): Promise<IssuedSession> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + absoluteSeconds * 1000);
    return db.transaction(async (tx) => {
      await repo.insertSession(tx, {
        tokenHash: hashToken(token),
        id: uuidv7(),
        userId: user.id,
        tenantId: user.tenant_id,
        csrfToken: randomBytes(32).toString('base64url'),
        expiresAt,
        restriction,
        authMethod: method,
        ip: meta.ip,
        userAgent: meta.userAgent,
      });
      // Sign-in bookkeeping, not a change of the account: version_id stays.
      await tx.query(
        'UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = $1',
        [user.id],
      );
      const session = await load(tx, token);
      await recordAudit(
        tx,
        actorOf(session.principal, meta),
        auditOf(
          actorOf(session.principal, meta),
          'user.login',
          { type: 'user', id: user.id },
          {
            details: { method, ...(restriction ? { restriction } : {}) },
          },
        ),
      );
      return { token, expiresAt, body: session.body };
    });
  }

  /** Counts a failed sign-in; past the limit the account is locked, longer at each further failure. */
  async function fail(user: LoginRecord | null, username: string, meta: RequestMeta, reason: string) {
    await db.transaction(async (tx) => {
      if (user) {
        const failures = user.failed_logins + 1;
        const { maxFailedLogins, lockoutSeconds } = config.users;
        const lockFor =
          failures >= maxFailedLogins
            ? Math.min(3600, lockoutSeconds * 2 ** Math.min(12, failures - maxFailedLogins))
            : 0;
        await tx.query(
          `UPDATE users SET failed_logins = $2,
                  locked_until = CASE WHEN $3::int > 0 THEN now() + make_interval(secs => $3) ELSE locked_until END
            WHERE id = $1`,
          [user.id, failures, lockFor],
        );
      }
      await appendAudit(tx, {
        tenantId: user?.tenant_id ?? null,
        actorId: null,
        userId: user?.id ?? null,
        action: 'user.login_failed',
        resourceType: 'user',
        resourceId: user?.id ?? null,
        outcome: 'denied',
        status: 401,
        correlationId: meta.correlationId,
        ip: meta.ip,
        details: { username: username.slice(0, 100), reason },
      });
    });
  }

  function lockedError(user: LoginRecord): AppError {
    const seconds = Math.max(1, Math.ceil((user.locked_until!.getTime() - Date.now()) / 1000));
    return new AppError(
      'ERR_AUTH_LOCKED',
      `too many failed sign-ins; try again in ${seconds} s or ask an administrator to unlock the account`,
      { headers: { 'Retry-After': String(seconds) } },
    );
  }

  return {
    /** Local sign-in: password, then the second factor when the user has one. */
    async login(input: LoginInput, meta: RequestMeta): Promise<IssuedSession> {
      const gate = await limiter.consume(`login-ip:${meta.ip ?? 'unknown'}`, config.tokenRateLimitPerMinute);
      if (!gate.allowed) {
        throw new AppError(
          'ERR_RATE_LIMITED',
          `too many sign-in attempts; retry after ${gate.resetSeconds} s`,
          {
            headers: { 'Retry-After': String(gate.resetSeconds) },
          },
        );
      }
      const user = await loadLoginRecord(db, { username: input.username });
      if (!user?.password_hash) {
        // Hash anyway, so an unknown username takes as long as a wrong password.
        dummyHash ??= hashSecret(randomBytes(16).toString('hex'));
        await verifySecret(input.password, await dummyHash);
        await fail(null, input.username, meta, user ? 'no local password' : 'unknown username');
        throw invalidCredentials();
      }
      if (user.locked_until && user.locked_until.getTime() > Date.now()) throw lockedError(user);
      if (!(await verifySecret(input.password, user.password_hash))) {
        await fail(user, input.username, meta, 'wrong password');
        throw invalidCredentials();
      }
      if (!user.active || !user.tenant_active) {
        await fail(null, input.username, meta, 'inactive account');
        throw invalidCredentials();
      }
      if (user.totp_enabled && user.totp_secret) {
        if (!input.totp) {
          throw new AppError('ERR_AUTH_TOTP_REQUIRED', 'enter the code from your authenticator app', {
            extra: { totp_required: true },
          });
        }
        const lastStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
        const step = await acceptTotp(user.totp_secret, input.totp, lastStep);
        if (step === null) {
          await fail(user, input.username, meta, 'wrong second factor');
          throw invalidCredentials();
        }
        await db.query('UPDATE users SET totp_last_step = $2 WHERE id = $1', [user.id, step]);
      }
      const restriction: repo.SessionRestriction | null = user.password_must_change
        ? 'password_change'
        : user.tenant_requires_totp && !user.totp_enabled
          ? 'totp_enrolment'
          : null;
      return open(user, 'password', restriction, meta);
    },

    open,

    /** The session of a cookie value, or an error (401 signed out / expired / inactive). */
    resolve(token: string): Promise<ResolvedSession> {
      return load(db, token);
    },

    /** Requests that change something with the cookie must echo the session's CSRF token. */
    assertCsrf(session: ResolvedSession, header: string | undefined): void {
      if (!header || !sameSecret(header, session.row.csrf_token)) {
        throw new AppError(
          'ERR_SEC_CSRF',
          'a request made with the session cookie must carry the X-CSRF-Token header of the session',
        );
      }
    },

    /** Refuses API use until a restricted session has completed sign-in. */
    assertUnrestricted(session: ResolvedSession): void {
      const r = session.row.restriction;
      if (!r) return;
      throw new AppError(
        'ERR_AUTH_SESSION_RESTRICTED',
        r === 'password_change'
          ? 'replace the one-time password first (POST /auth/password)'
          : 'your tenant requires a second factor: enrol one first (POST /auth/totp/setup)',
        { extra: { restriction: r } },
      );
    },

    async logout(session: ResolvedSession, meta: RequestMeta): Promise<void> {
      await db.transaction(async (tx) => {
        await repo.deleteSession(tx, session.row.id);
        const actor = actorOf(session.principal, meta);
        await recordAudit(
          tx,
          actor,
          auditOf(actor, 'user.logout', { type: 'user', id: session.row.user_id }),
        );
      });
    },

    /** Replaces the password (and a one-time one); the user's other sessions end. */
    async changePassword(
      session: ResolvedSession,
      input: { current_password: string; new_password: string },
      meta: RequestMeta,
    ): Promise<void> {
      const user = await loadLoginRecord(db, { id: session.row.user_id });
      if (!user?.password_hash) {
        throw new AppError('ERR_STATE_CONFLICT', 'this account signs in through the identity provider');
      }
      if (!(await verifySecret(input.current_password, user.password_hash))) {
        await fail(user, user.username, meta, 'wrong current password');
        throw new AppError('ERR_AUTH_INVALID', 'the current password is not valid');
      }
      assertAcceptablePassword(input.new_password, config.users.passwordMinLength, user.username);
      if (input.new_password === input.current_password) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', 'new_password: must differ from the current one', {
          errors: [{ field: 'new_password', message: 'must differ from the current one' }],
        });
      }
      const hash = await hashSecret(input.new_password);
      await db.transaction(async (tx) => {
        await updateUser(tx, user.id, { password_hash: hash, password_must_change: false });
        await deleteSessionsOf(tx, user.id, session.row.id);
        const next = user.tenant_requires_totp && !user.totp_enabled ? 'totp_enrolment' : null;
        await repo.setRestriction(tx, session.row.id, next);
        const actor = actorOf(session.principal, meta);
        await recordAudit(tx, actor, auditOf(actor, 'user.change_password', { type: 'user', id: user.id }));
      });
    },

    /** Starts TOTP enrolment: a new secret, not in force until confirmed with a code. */
    async totpSetup(session: ResolvedSession): Promise<{ secret: string; otpauth_uri: string }> {
      const user = await loadLoginRecord(db, { id: session.row.user_id });
      if (user?.totp_enabled) {
        throw new AppError(
          'ERR_STATE_CONFLICT',
          'a second factor is already enrolled; an administrator can reset it',
        );
      }
      const secret = newTotpSecret();
      await db.query('UPDATE users SET totp_secret = $2, totp_enabled = false WHERE id = $1', [
        session.row.user_id,
        secret,
      ]);
      let issuer = 'Hearth';
      try {
        issuer = `Hearth (${new URL(config.publicUrl).host})`;
      } catch {
        // keep the plain name
      }
      return { secret, otpauth_uri: totpUri(secret, session.row.username, issuer) };
    },

    /** Confirms enrolment with a current code; the second factor is required from the next sign-in. */
    async totpConfirm(session: ResolvedSession, code: string, meta: RequestMeta): Promise<void> {
      const user = await loadLoginRecord(db, { id: session.row.user_id });
      if (!user?.totp_secret || user.totp_enabled) {
        throw new AppError('ERR_STATE_CONFLICT', 'start enrolment first (POST /auth/totp/setup)');
      }
      const step = await acceptTotp(user.totp_secret, code, null);
      if (step === null) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', 'code: is not the current code of the new secret', {
          errors: [{ field: 'code', message: 'is not the current code of the new secret' }],
        });
      }
      await db.transaction(async (tx) => {
        await updateUser(tx, user.id, { totp_enabled: true, totp_last_step: step });
        if (session.row.restriction === 'totp_enrolment') await repo.setRestriction(tx, session.row.id, null);
        const actor = actorOf(session.principal, meta);
        await recordAudit(tx, actor, auditOf(actor, 'user.totp_enrol', { type: 'user', id: user.id }));
      });
    },

    /** Deletes sessions past their timeouts (requests check both timeouts anyway). */
    sweep(): Promise<number> {
      return repo.deleteExpiredSessions(db, idleSeconds);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
