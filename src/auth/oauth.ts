import { appendAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { type Authenticator, assertClientUsable, currentScopes, parseBasic } from './authenticator.js';
import type { ClientCache } from './client-cache.js';
import { rateLimited } from './hooks.js';
import { isScope, type Scope } from './scopes.js';
import type { IssuedToken, TokenService } from './tokens.js';

type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'temporarily_unavailable';

/** RFC 6749 §5.2 error, rendered with both the OAuth fields and the problem fields. */
export function oauthError(error: OAuthErrorCode, description: string): AppError {
  const code = error === 'invalid_client' ? 'ERR_AUTH_INVALID' : 'ERR_BAD_REQUEST';
  const status = error === 'invalid_client' ? 401 : 400;
  return new AppError(code, description, {
    status,
    extra: { error, error_description: description },
    headers: error === 'invalid_client' ? { 'WWW-Authenticate': 'Basic realm="hearth"' } : undefined,
  });
}

/**
 * Any refusal of a token endpoint with the RFC 6749 §5.2 `error` member it needs: malformed,
 * oversized, wrongly typed or invalid requests are `invalid_request`, 401 `invalid_client`, 403
 * `unauthorized_client`; 429 and 5xx, for which §5.2 has no code, `temporarily_unavailable` (the
 * registry's code for the same condition at the authorization endpoint). Decision 0071.
 */
export function asOAuthError(err: AppError): AppError {
  if (err.extra?.error) return err;
  const s = err.status;
  const error: OAuthErrorCode =
    s === 401
      ? 'invalid_client'
      : s === 403
        ? 'unauthorized_client'
        : s === 429 || s >= 500
          ? 'temporarily_unavailable'
          : 'invalid_request';
  return new AppError(err.code, err.message, {
    status: s,
    errors: err.errors,
    headers: err.headers,
    extra: { ...err.extra, error, error_description: err.message },
  });
}

export interface TokenRequest {
  /** Form or JSON body fields. */
  body: Record<string, unknown>;
  authorization: string | undefined;
  ip: string;
  correlationId: string;
  /** Maps a requested scope name of another face (V2, DCI) to Hearth scopes; identity by default. */
  mapScope?: (name: string) => Scope[] | null;
}

export interface OAuthDeps {
  db: Database;
  clients: ClientCache;
  authenticator: Authenticator;
  tokens: TokenService;
  limiter: RateLimiter;
  tokenRateLimit: number;
}

function field(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw oauthError('invalid_request', `${name} must be a string`);
  return v;
}

/** The OAuth 2.0 client credentials grant (RFC 6749 §4.4), shared by every face's token endpoint. */
export async function clientCredentialsGrant(deps: OAuthDeps, req: TokenRequest): Promise<IssuedToken> {
  const ipDecision = await deps.limiter.consume(`token-ip:${req.ip}`, deps.tokenRateLimit);
  if (!ipDecision.allowed) throw rateLimited(ipDecision, 'too many token requests from this address');

  const grantType = field(req.body, 'grant_type');
  if (!grantType) throw oauthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') {
    throw oauthError('unsupported_grant_type', 'only the client_credentials grant is supported');
  }
  const basic = req.authorization ? parseBasic(req.authorization) : null;
  if (req.authorization && !basic)
    throw oauthError('invalid_client', 'Authorization header must be HTTP Basic');
  const bodyId = field(req.body, 'client_id');
  const bodySecret = field(req.body, 'client_secret');
  if (basic && (bodySecret !== undefined || (bodyId !== undefined && bodyId !== basic.id))) {
    throw oauthError(
      'invalid_request',
      'send client credentials either in the Authorization header or in the body',
    );
  }
  const clientId = basic?.id ?? bodyId;
  const secret = basic?.secret ?? bodySecret;
  if (!clientId || !secret) throw oauthError('invalid_client', 'client_id and client_secret are required');

  const clientDecision = await deps.limiter.consume(`token-client:${clientId}`, deps.tokenRateLimit);
  if (!clientDecision.allowed) throw rateLimited(clientDecision, 'too many token requests for this client');

  const audit = (outcome: 'success' | 'denied', tenantId: string | null, status: number) =>
    appendAudit(deps.db, {
      tenantId,
      actorId: clientId.slice(0, 64),
      action: 'oauth.token',
      resourceType: 'api_client',
      resourceId: clientId.slice(0, 64),
      outcome,
      status,
      correlationId: req.correlationId,
      ip: req.ip,
    });

  const client = await deps.clients.get(clientId);
  if (!client || !(await deps.authenticator.secretMatches(client, secret))) {
    await audit('denied', null, 401);
    throw oauthError('invalid_client', 'client authentication failed');
  }
  try {
    assertClientUsable(client);
  } catch {
    await audit('denied', client.tenantId, 401);
    throw oauthError('invalid_client', 'client is inactive');
  }

  const granted = currentScopes(client);
  let scopes: Scope[] = [...granted];
  const requested = field(req.body, 'scope');
  if (requested !== undefined && requested.trim() !== '') {
    const wanted = new Set<Scope>();
    for (const name of requested.trim().split(/\s+/)) {
      const mapped = req.mapScope ? req.mapScope(name) : isScope(name) ? [name] : null;
      if (!mapped) throw oauthError('invalid_scope', `unknown scope ${name}`);
      for (const s of mapped) {
        if (!granted.has(s)) throw oauthError('invalid_scope', `scope ${name} is not granted to this client`);
        wanted.add(s);
      }
    }
    scopes = [...wanted];
  }
  const token = await deps.tokens.issue(client, scopes);
  await audit('success', client.tenantId, 200);
  return token;
}
