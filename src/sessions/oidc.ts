import * as client from 'openid-client';
import { appendAudit } from '../audit/audit.js';
import { isRole, type Role, scopesOfRoles } from '../auth/scopes.js';
import type { OidcConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { uuidv7 } from '../lib/ids.js';
import { findUserByOidcSubject, findUserByUsername, insertUser, updateUser } from '../users/repo.js';
import type { User } from '../users/schemas.js';
import type { IssuedSession, RequestMeta, SessionService } from './service.js';

/** Why an identity-provider sign-in was refused; the code travels to the sign-in page. */
export class OidcRefusal extends Error {
  constructor(
    readonly reason:
      | 'invalid_state'
      | 'provider_error'
      | 'unknown_tenant'
      | 'no_role'
      | 'inactive'
      | 'username_taken'
      | 'tenant_changed',
    detail: string,
  ) {
    super(detail);
    this.name = 'OidcRefusal';
  }
}

const STATE_TTL_SECONDS = 600;
const DEFAULT_RETURN = '/console/';

/**
 * Where to send the browser after sign-in: only a path on this server ("/console/…"), never
 * another origin ("//evil", "https://…", "/\\evil"), so the callback cannot be an open redirect.
 */
export function safeReturnTo(raw: string | undefined): string {
  if (!raw || raw.length > 2000) return DEFAULT_RETURN;
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return DEFAULT_RETURN;
  if ([...raw].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return DEFAULT_RETURN;
  try {
    const url = new URL(raw, 'http://hearth.invalid');
    if (url.origin !== 'http://hearth.invalid') return DEFAULT_RETURN;
    return url.pathname + url.search + url.hash;
  } catch {
    return DEFAULT_RETURN;
  }
}

/** A claim by dot path (`realm_access.roles`), or a top-level claim whose name has dots. */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Provider roles → Hearth roles: through HEARTH_OIDC_ROLE_MAP, else by the same name. */
export function mapRoles(raw: unknown, roleMap: Record<string, string>): Role[] {
  const names = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : [];
  const out = new Set<Role>();
  for (const name of names) {
    if (typeof name !== 'string') continue;
    const mapped = roleMap[name] ?? name;
    if (isRole(mapped)) out.add(mapped);
  }
  // A ROOT user holds no other role (as for clients).
  return out.has('root') ? ['root'] : [...out];
}

export interface OidcDeps {
  db: Database;
  config: OidcConfig;
  publicUrl: string;
  sessions: SessionService;
}

/**
 * Sign-in through an OpenID Connect provider with openid-client (a certified relying party):
 * authorization code with PKCE (S256), state and nonce, the ID token checked by the library. The
 * in-flight state is a database row, so the callback may reach another process.
 */
export function createOidcSignIn({ db, config, publicUrl, sessions }: OidcDeps) {
  const redirectUri = `${publicUrl}/auth/oidc/callback`;
  let discovered: Promise<client.Configuration> | null = null;

  function configuration(): Promise<client.Configuration> {
    discovered ??= client
      .discovery(
        new URL(config.issuer),
        config.clientId,
        config.clientSecret ?? undefined,
        config.clientSecret ? undefined : client.None(),
        config.allowInsecure ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((err) => {
        discovered = null; // try again at the next sign-in
        throw err;
      });
    return discovered;
  }

  /** Finds or creates the user the claims describe, with the roles they carry now. */
  async function provision(claims: Record<string, unknown>, meta: RequestMeta): Promise<User> {
    const subject = String(claims.sub);
    const roles = mapRoles(claimAt(claims, config.rolesClaim), config.roleMap);
    if (roles.length === 0) throw new OidcRefusal('no_role', 'the identity provider grants no Hearth role');
    let tenantId: string | null = null;
    if (!roles.includes('root')) {
      const code = claimAt(claims, config.tenantClaim);
      const { rows } =
        typeof code === 'string' && code
          ? await db.query<{ id: string }>(`SELECT id FROM tenants WHERE code = $1 AND status = 'active'`, [
              code,
            ])
          : { rows: [] };
      if (rows.length === 0)
        throw new OidcRefusal('unknown_tenant', 'the tenant claim names no active tenant');
      tenantId = rows[0].id;
    }
    const scopes = [...scopesOfRoles(roles)];
    const displayName = typeof claims.name === 'string' ? claims.name.slice(0, 200) : null;
    const email =
      typeof claims.email === 'string' && claims.email.length >= 3 ? claims.email.slice(0, 320) : null;
    return db.transaction(async (tx) => {
      const existing = await findUserByOidcSubject(tx, config.issuer, subject);
      let user: User;
      let action: string;
      if (existing) {
        if (!existing.active)
          throw new OidcRefusal('inactive', 'this account has been deactivated in Hearth');
        if (existing.tenant_id !== tenantId) {
          throw new OidcRefusal('tenant_changed', 'the tenant claim differs from the account’s tenant');
        }
        user = (await updateUser(tx, existing.user_id, { roles, scopes, display_name: displayName, email }))!;
        action = 'user.oidc_update';
      } else {
        const wanted = claimAt(claims, config.usernameClaim);
        const username =
          typeof wanted === 'string' && /^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$/.test(wanted) ? wanted : subject;
        if (await findUserByUsername(tx, username)) {
          throw new OidcRefusal('username_taken', 'a Hearth account already uses this username');
        }
        user = await insertUser(tx, {
          id: uuidv7(),
          tenantId,
          username,
          displayName,
          email,
          passwordHash: null,
          passwordMustChange: false,
          roles,
          scopes,
          verticalIds: [],
          allowedPrograms: [],
          oidcIssuer: config.issuer,
          oidcSubject: subject,
          createdBy: 'oidc',
        });
        action = 'user.oidc_provision';
      }
      await appendAudit(tx, {
        tenantId,
        actorId: `user:${user.username}`,
        userId: user.user_id,
        action,
        resourceType: 'user',
        resourceId: user.user_id,
        outcome: 'success',
        correlationId: meta.correlationId,
        ip: meta.ip,
        severity: roles.includes('root') ? 'elevated' : 'normal',
        details: { issuer: config.issuer, roles },
      });
      return user;
    });
  }

  return {
    /** The provider's authorization URL for a new sign-in (state, nonce and PKCE verifier kept). */
    async start(returnTo: string | undefined): Promise<URL> {
      const cfg = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      await db.query(
        `INSERT INTO oidc_login_states (state, code_verifier, nonce, return_to, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
        [state, verifier, nonce, safeReturnTo(returnTo), STATE_TTL_SECONDS],
      );
      return client.buildAuthorizationUrl(cfg, {
        redirect_uri: redirectUri,
        scope: config.scopes,
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
    },

    /**
     * The provider's answer (the callback URL as received): checks state, exchanges the code with
     * the PKCE verifier, checks the ID token and nonce, provisions the user, opens a session.
     */
    async finish(pathAndQuery: string, meta: RequestMeta): Promise<IssuedSession & { returnTo: string }> {
      const current = new URL(pathAndQuery, publicUrl);
      const state = current.searchParams.get('state') ?? '';
      // One use only: the row is deleted whether or not the rest succeeds.
      const { rows } = await db.query<{ code_verifier: string; nonce: string; return_to: string }>(
        `DELETE FROM oidc_login_states WHERE state = $1 AND expires_at > now()
         RETURNING code_verifier, nonce, return_to`,
        [state],
      );
      if (rows.length === 0) throw new OidcRefusal('invalid_state', 'unknown or expired sign-in attempt');
      const { code_verifier, nonce, return_to } = rows[0];
      const cfg = await configuration();
      let claims: Record<string, unknown>;
      try {
        const tokens = await client.authorizationCodeGrant(cfg, current, {
          pkceCodeVerifier: code_verifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims()! as Record<string, unknown>;
        claims = { ...idClaims };
        // Profile, tenant and role claims often come from the UserInfo endpoint only.
        if (cfg.serverMetadata().userinfo_endpoint) {
          const info = await client.fetchUserInfo(cfg, tokens.access_token, String(idClaims.sub));
          claims = { ...info, ...idClaims };
        }
      } catch (err) {
        throw new OidcRefusal(
          'provider_error',
          `the identity provider's answer was refused: ${(err as Error).message}`,
        );
      }
      const user = await provision(claims, meta);
      const issued = await sessions.open({ id: user.user_id, tenant_id: user.tenant_id }, 'oidc', null, meta);
      return { ...issued, returnTo: return_to };
    },

    /** Deletes sign-ins that were never finished. */
    async sweep(): Promise<void> {
      await db.query('DELETE FROM oidc_login_states WHERE expires_at < now()');
    },
  };
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;
