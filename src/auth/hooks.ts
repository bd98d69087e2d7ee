import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import type { RouteAuth } from '../http/route-auth.js';
import { isUuid } from '../lib/ids.js';
import type { RateDecision, RateLimiter } from '../ratelimit/limiter.js';
import { SESSION_COOKIE, type SessionService } from '../sessions/service.js';
import { findTenant } from '../tenancy/repo.js';
import { type Authenticator, parseBasic, parseBearer } from './authenticator.js';
import type { Actor, Principal } from './principal.js';
import { isScope } from './scopes.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="hearth"' };
const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="hearth", charset="UTF-8"' };

export function rateHeaders(d: RateDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(d.limit),
    'RateLimit-Remaining': String(d.remaining),
    'RateLimit-Reset': String(d.resetSeconds),
  };
}

export function rateLimited(d: RateDecision, what = 'request rate limit exceeded'): AppError {
  return new AppError('ERR_RATE_LIMITED', `${what}; retry after ${d.resetSeconds} s`, {
    headers: { ...rateHeaders(d), 'Retry-After': String(d.resetSeconds) },
  });
}

function unauthenticated(detail: string, basic: boolean): AppError {
  return new AppError('ERR_AUTH_INVALID', detail, { headers: basic ? BASIC_CHALLENGE : BEARER_CHALLENGE });
}

export interface AuthDeps {
  db: Database;
  authenticator: Authenticator;
  /** Browser sessions (cookie) of signed-in people; absent in apps built without them. */
  sessions?: SessionService;
  limiter: RateLimiter;
  defaultRateLimit: number;
  /** Per minute, per IP and per client id: Basic credentials that must be hashed to be checked. */
  basicVerifyRateLimit?: number;
}

async function resolvePrincipal(
  deps: AuthDeps,
  request: FastifyRequest,
  auth: Exclude<RouteAuth, { public: true }>,
) {
  const header = request.headers.authorization;
  const basic = auth.scheme === 'basic';
  if (!header) {
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie && deps.sessions) return fromSession(deps.sessions, request, cookie);
    throw unauthenticated('authentication is required', basic);
  }
  try {
    // Routes that take HTTP Basic (G2P face) also take a bearer token of the same client.
    if (basic && !/^Bearer\s/i.test(header)) {
      const creds = parseBasic(header);
      if (!creds) throw unauthenticated('HTTP Basic credentials (or a Bearer token) are required', true);
      const limit = deps.basicVerifyRateLimit ?? deps.defaultRateLimit;
      const beforeHash = async () => {
        for (const key of [`basic-ip:${request.ip}`, `basic-client:${creds.id.slice(0, 200)}`]) {
          const d = await deps.limiter.consume(key, limit);
          if (!d.allowed) throw rateLimited(d, 'too many Basic credential checks');
        }
      };
      return await deps.authenticator.fromBasic(creds.id, creds.secret, beforeHash);
    }
    const token = parseBearer(header);
    if (!token) throw unauthenticated('a Bearer access token is required', false);
    return await deps.authenticator.fromBearer(token);
  } catch (err) {
    if (err instanceof AppError && err.status === 401) {
      throw new AppError(err.code, err.message, { headers: basic ? BASIC_CHALLENGE : BEARER_CHALLENGE });
    }
    throw err;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A signed-in person: the session cookie stands for the credentials, so a request that changes
 * something must also carry the session's CSRF token (a cross-site form cannot read it). A request
 * with an Authorization header never reaches here: bearer clients are not affected.
 */
async function fromSession(sessions: SessionService, request: FastifyRequest, cookie: string) {
  const session = await sessions.resolve(cookie);
  if (!SAFE_METHODS.has(request.method)) {
    const raw = request.headers['x-csrf-token'];
    sessions.assertCsrf(session, Array.isArray(raw) ? raw[0] : raw);
  }
  sessions.assertUnrestricted(session);
  return session.principal;
}

/** ROOT may act in one tenant named by X-Tenant-Id; anyone else's header must match their own tenant. */
async function resolveTenant(
  deps: AuthDeps,
  request: FastifyRequest,
  principal: Principal,
): Promise<string | null> {
  const raw = request.headers['x-tenant-id'];
  const header = Array.isArray(raw) ? raw[0] : raw;
  if (!header) return principal.tenantId;
  if (!isUuid(header)) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'X-Tenant-Id must be a tenant id (UUID)', {
      status: 400,
      errors: [{ field: 'X-Tenant-Id', message: 'must be a UUID' }],
    });
  }
  if (!principal.isRoot) {
    if (header.toLowerCase() !== principal.tenantId) {
      throw new AppError('ERR_SEC_FORBIDDEN', 'X-Tenant-Id does not match the tenant of the token');
    }
    return principal.tenantId;
  }
  if (!(await findTenant(deps.db, header))) throw new AppError('ERR_NOT_FOUND', 'tenant not found');
  return header.toLowerCase();
}

function checkGrant(principal: Principal, auth: Exclude<RouteAuth, { public: true }>): void {
  if (auth.roles && auth.roles.length > 0 && !principal.isRoot) {
    if (!auth.roles.some((r) => principal.roles.includes(r as Principal['roles'][number]))) {
      throw new AppError('ERR_SEC_FORBIDDEN', `requires one of the roles: ${auth.roles.join(', ')}`, {
        extra: { required_roles: auth.roles },
      });
    }
  }
  for (const scope of auth.scopes ?? []) {
    if (!principal.isRoot && !(isScope(scope) && principal.scopes.has(scope))) {
      throw new AppError('ERR_SEC_FORBIDDEN', `missing scope ${scope}`, { extra: { required_scope: scope } });
    }
  }
}

/**
 * The gate in front of every route: credentials → principal, tenant, route grant (roles and
 * scopes declared in the route's config.auth), then the client's rate limit. Runs before the body
 * is parsed, so an anonymous caller learns nothing about body validation.
 */
export function registerAuthHooks(app: FastifyInstance, deps: AuthDeps): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.is404) return;
    const auth = request.routeOptions.config.auth;
    if (auth?.public) return;
    const required = auth ?? {};
    const principal = await resolvePrincipal(deps, request, required);
    const tenantId = await resolveTenant(deps, request, principal);
    const sourceHeader = request.headers['x-source-system'];
    request.actor = {
      principal,
      tenantId,
      correlationId: request.id,
      ip: request.ip,
      sourceSystem:
        (Array.isArray(sourceHeader) ? sourceHeader[0] : sourceHeader)?.slice(0, 200) ??
        principal.sourceSystem,
      audit: { recorded: false },
    };
    checkGrant(principal, required);
    const limit = principal.rateLimitPerMinute ?? deps.defaultRateLimit;
    const decision = await deps.limiter.consume(`client:${principal.clientId}`, limit);
    if (!decision.allowed) throw rateLimited(decision);
    reply.headers(rateHeaders(decision));
  });
}
