import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { scopesOfRoles } from '../auth/scopes.js';
import { hashSecret, verifySecret } from '../auth/secrets.js';
import { assertWithin, resolveGrant } from '../clients/service.js';
import type { UsersConfig } from '../config.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden, notFound } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { findTenant } from '../tenancy/repo.js';
import type { VerticalService } from '../tenancy/service.js';
import { assertAcceptablePassword, oneTimePassword } from './passwords.js';
import * as repo from './repo.js';
import type { PasswordReset, User, UserCreate, UserPatch, UserWithPassword } from './schemas.js';

function assertManager(actor: Actor): void {
  if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
    throw forbidden('only ROOT and tenant admins manage users');
  }
}

/** A tenant admin sees its own tenant's users; ROOT users are ROOT's alone. */
function visible(actor: Actor, user: User | null): user is User {
  if (!user) return false;
  if (actor.principal.isRoot) return true;
  return user.tenant_id !== null && user.tenant_id === actor.tenantId;
}

const uniqueUsername = (err: unknown): never => {
  if (isPgError(err) && err.code === PgCode.uniqueViolation) throw conflict('username is taken', 'username');
  throw err;
};

export interface UserServiceDeps {
  db: Database;
  verticals: VerticalService;
  config: UsersConfig;
}

export function createUserService({ db, verticals, config }: UserServiceDeps) {
  /** Applies a change to one user the actor may manage, audits it, and returns the new row. */
  async function change(
    actor: Actor,
    userId: string,
    action: string,
    fn: (tx: Tx, current: User) => Promise<User | null>,
    ifMatch?: number,
  ): Promise<User> {
    assertManager(actor);
    return tenantTx(db, actor, async (tx) => {
      const current = await repo.findUser(tx, userId);
      if (!visible(actor, current)) throw notFound('user');
      if (ifMatch !== undefined && ifMatch !== current.version_id) {
        throw new AppError('ERR_PRECONDITION_FAILED', `user is at version ${current.version_id}`, {
          extra: { current_version_id: current.version_id },
        });
      }
      const updated = (await fn(tx, current)) ?? current;
      await recordAudit(
        tx,
        actor,
        auditOf(
          { ...actor, tenantId: current.tenant_id },
          action,
          { type: 'user', id: userId },
          {
            details: { username: current.username },
          },
        ),
      );
      return updated;
    });
  }

  async function setActive(actor: Actor, userId: string, active: boolean): Promise<User> {
    if (!active && userId === actor.principal.userId) throw forbidden('you cannot deactivate yourself');
    return change(actor, userId, active ? 'user.activate' : 'user.deactivate', async (tx) => {
      const updated = await repo.updateUser(tx, userId, { active });
      // Sessions are read from the database on every request, so deleting them ends them in
      // every process at the commit.
      if (!active) await repo.deleteSessionsOf(tx, userId);
      return updated;
    });
  }

  return {
    async create(actor: Actor, input: UserCreate): Promise<UserWithPassword> {
      assertManager(actor);
      const { roles, scopes } = resolveGrant(actor, input);
      const isRootUser = roles.includes('root');
      const tenantId = isRootUser ? null : (input.tenant_id ?? actor.tenantId);
      if (isRootUser && input.tenant_id) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', 'tenant_id: a ROOT user belongs to no tenant', {
          errors: [{ field: 'tenant_id', message: 'a ROOT user belongs to no tenant' }],
        });
      }
      if (!isRootUser && !tenantId) {
        throw new AppError('ERR_VAL_MISSING_FIELD', 'tenant_id is required for a non-ROOT user', {
          errors: [{ field: 'tenant_id', message: 'is required for a non-ROOT user' }],
        });
      }
      if (!actor.principal.isRoot && tenantId !== actor.tenantId) throw notFound('tenant');
      const verticalIds = input.vertical_ids ?? [];
      const allowedPrograms = input.allowed_programs ?? [];
      assertWithin(actor, 'vertical_ids', verticalIds, actor.principal.verticalIds);
      assertWithin(actor, 'allowed_programs', allowedPrograms, actor.principal.allowedPrograms);
      const generated = input.password === undefined ? oneTimePassword() : null;
      if (input.password !== undefined) {
        assertAcceptablePassword(input.password, config.passwordMinLength, input.username);
      }
      const passwordHash = await hashSecret(input.password ?? generated!);
      const user = await tenantTx(db, { ...actor, tenantId }, async (tx) => {
        if (tenantId && !(await findTenant(tx, tenantId))) throw notFound('tenant');
        if (tenantId) await verticals.assertExist(tx, tenantId, verticalIds);
        const created = await repo
          .insertUser(tx, {
            id: uuidv7(),
            tenantId,
            username: input.username,
            displayName: input.display_name ?? null,
            email: input.email ?? null,
            passwordHash,
            passwordMustChange: generated !== null,
            roles,
            scopes,
            verticalIds,
            allowedPrograms,
            oidcIssuer: null,
            oidcSubject: null,
            createdBy: actor.principal.clientId,
          })
          .catch(uniqueUsername);
        await recordAudit(
          tx,
          actor,
          auditOf(
            { ...actor, tenantId },
            'user.create',
            { type: 'user', id: created.user_id },
            {
              details: { username: created.username, roles, scopes },
            },
          ),
        );
        return created;
      });
      return generated ? { ...user, one_time_password: generated } : user;
    },

    async list(actor: Actor, query: { limit: number; cursor?: string; tenant_id?: string }) {
      assertManager(actor);
      const tenantId = actor.principal.isRoot ? (query.tenant_id ?? actor.tenantId) : actor.tenantId;
      const rows = await tenantTx(db, actor, (tx) =>
        repo.listUsers(tx, { tenantId, afterId: decodeIdCursor(query.cursor), limit: query.limit }),
      );
      return pageOf(rows, query.limit, (r) => [r.user_id]);
    },

    async get(actor: Actor, userId: string): Promise<User> {
      assertManager(actor);
      const user = await tenantTx(db, actor, (tx) => repo.findUser(tx, userId));
      if (!visible(actor, user)) throw notFound('user');
      return user;
    },

    async patch(actor: Actor, userId: string, input: UserPatch, ifMatch?: number): Promise<User> {
      if (input.active === false && userId === actor.principal.userId) {
        throw forbidden('you cannot deactivate yourself');
      }
      return change(
        actor,
        userId,
        'user.update',
        async (tx, current) => {
          const set: Partial<Record<repo.UserColumn, unknown>> = {};
          if (input.display_name !== undefined) set.display_name = input.display_name;
          if (input.email !== undefined) set.email = input.email;
          if (input.roles !== undefined || input.scopes !== undefined) {
            const grant = resolveGrant(actor, {
              roles: input.roles ?? current.roles,
              scopes: input.scopes ?? (input.roles ? undefined : current.scopes),
            });
            if (grant.roles.includes('root') !== (current.tenant_id === null)) {
              throw forbidden('the root role can be neither added to nor removed from an existing user');
            }
            set.roles = grant.roles;
            set.scopes = grant.scopes;
          }
          if (input.vertical_ids !== undefined) {
            if (current.tenant_id) await verticals.assertExist(tx, current.tenant_id, input.vertical_ids);
            assertWithin(actor, 'vertical_ids', input.vertical_ids, actor.principal.verticalIds);
            set.vertical_ids = input.vertical_ids;
          }
          if (input.allowed_programs !== undefined) {
            assertWithin(actor, 'allowed_programs', input.allowed_programs, actor.principal.allowedPrograms);
            set.allowed_programs = input.allowed_programs;
          }
          if (input.active !== undefined) set.active = input.active;
          if (input.totp_reset) {
            set.totp_secret = null;
            set.totp_enabled = false;
            set.totp_last_step = null;
          }
          if (input.unlock) {
            set.failed_logins = 0;
            set.locked_until = null;
          }
          const updated = await repo.updateUser(tx, userId, set);
          if (input.active === false) await repo.deleteSessionsOf(tx, userId);
          return updated;
        },
        ifMatch,
      );
    },

    setActive,

    /** A new one-time password; every session of the user ends. */
    async resetPassword(actor: Actor, userId: string): Promise<PasswordReset> {
      const password = oneTimePassword();
      const hash = await hashSecret(password);
      const user = await change(actor, userId, 'user.reset_password', async (tx, current) => {
        if (current.auth_source === 'oidc') {
          throw new AppError('ERR_STATE_CONFLICT', 'this user signs in through the identity provider');
        }
        const updated = await repo.updateUser(tx, userId, {
          password_hash: hash,
          password_must_change: true,
          failed_logins: 0,
          locked_until: null,
        });
        await repo.deleteSessionsOf(tx, userId);
        return updated;
      });
      return { user_id: user.user_id, username: user.username, one_time_password: password };
    },

    /** Makes sure a ROOT user with these credentials exists (HEARTH_ROOT_USERNAME/PASSWORD). */
    async ensureRootUser(username: string, password: string): Promise<'created' | 'updated' | 'unchanged'> {
      const existing = await db.query<{ id: string; password_hash: string | null; roles: string[] }>(
        'SELECT id, password_hash, roles FROM users WHERE username = $1',
        [username],
      );
      if (existing.rows.length === 0) {
        await db.query(
          `INSERT INTO users (id, tenant_id, username, display_name, password_hash, roles, scopes, created_by)
           VALUES ($1, NULL, $2, 'Administrator', $3, '{root}', $4, 'bootstrap') ON CONFLICT (username) DO NOTHING`,
          [uuidv7(), username, await hashSecret(password), [...scopesOfRoles(['root'])]],
        );
        return 'created';
      }
      const row = existing.rows[0];
      if (!row.roles.includes('root'))
        throw new Error(`HEARTH_ROOT_USERNAME ${username} names a non-ROOT user`);
      if (row.password_hash && (await verifySecret(password, row.password_hash))) return 'unchanged';
      await db.transaction(async (tx) => {
        await repo.updateUser(tx, row.id, {
          password_hash: await hashSecret(password),
          password_must_change: false,
          failed_logins: 0,
          locked_until: null,
        });
        await repo.deleteSessionsOf(tx, row.id);
      });
      return 'updated';
    },

    /** True when no ROOT user exists yet (a fresh database). */
    async hasNoRootUser(): Promise<boolean> {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users WHERE 'root' = ANY(roles)`,
      );
      return rows[0].n === 0;
    },

    /** Creates a ROOT user whose one-time password must be replaced at first sign-in. */
    async createFirstRootUser(username: string): Promise<string> {
      const password = oneTimePassword();
      await db.query(
        `INSERT INTO users (id, tenant_id, username, display_name, password_hash, password_must_change, roles,
           scopes, created_by)
         VALUES ($1, NULL, $2, 'Administrator', $3, true, '{root}', $4, 'first-start')`,
        [uuidv7(), username, await hashSecret(password), [...scopesOfRoles(['root'])]],
      );
      return password;
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
