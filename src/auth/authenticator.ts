import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../http/errors.js';
import type { ClientCache } from './client-cache.js';
import type { ClientRecord } from './client-store.js';
import type { Principal } from './principal.js';
import { isScope, type Scope, scopesOfRoles } from './scopes.js';
import { verifySecret } from './secrets.js';
import type { TokenService } from './tokens.js';

const revoked = () =>
  new AppError('ERR_AUTH_INVALID', 'access token has been revoked or its client is inactive');

/** Refuses a client that may not act at all right now. */
export function assertClientUsable(client: ClientRecord | null): asserts client is ClientRecord {
  if (!client?.active || !client.tenantActive) throw revoked();
  if (client.integrationStatus && ['suspended', 'archived'].includes(client.integrationStatus))
    throw revoked();
}

/** The scopes a client holds now: its granted scopes, bounded by its roles. */
export function currentScopes(client: ClientRecord): Set<Scope> {
  const byRole = scopesOfRoles(client.roles);
  return new Set(client.scopes.filter((s) => byRole.has(s)));
}

export function principalOf(client: ClientRecord, scopes: Set<Scope>): Principal {
  return {
    clientId: client.clientId,
    tenantId: client.tenantId,
    roles: client.roles,
    scopes,
    verticalIds: client.verticalIds,
    allowedPrograms: client.allowedPrograms,
    integrationId: client.integrationId,
    consentBound: client.consentBound || client.roles.includes('integration'),
    sourceSystem: client.sourceSystem,
    rateLimitPerMinute: client.rateLimitPerMinute,
    isRoot: client.roles.includes('root'),
  };
}

/**
 * Turns credentials into a principal. Bearer tokens: signature and claims (cached per token),
 * then the client's current state (cached per client, invalidated on every change), so a
 * deactivated client or a rotated secret stops working at once.
 */
export class Authenticator {
  private basicCache = new Map<string, { hash: string; generation: number }>();
  /** Keys the cache of verified pairs, so the cache never holds a fast hash of a secret. */
  private readonly cacheKey = randomBytes(32);

  constructor(
    private readonly tokens: TokenService,
    private readonly clients: ClientCache,
  ) {}

  async fromBearer(token: string): Promise<Principal> {
    const claims = await this.tokens.verify(token);
    const client = await this.clients.get(claims.sub);
    assertClientUsable(client);
    if (claims.gen !== client.tokenGeneration) throw revoked();
    if ((claims.tenant_id ?? null) !== client.tenantId) throw revoked();
    const granted = currentScopes(client);
    const scopes = new Set<Scope>();
    for (const s of claims.scope.split(' ')) if (isScope(s) && granted.has(s)) scopes.add(s);
    return principalOf(client, scopes);
  }

  /**
   * Client id and secret on every request (G2P face). A verified pair is remembered per credential
   * generation. `beforeHash` runs before a secret has to be hashed (not for a remembered pair): the
   * caller's rate limit on unverified credentials.
   */
  async fromBasic(clientId: string, secret: string, beforeHash?: () => Promise<void>): Promise<Principal> {
    const client = await this.clients.get(clientId);
    if (!client || !(await this.secretMatches(client, secret, beforeHash))) {
      throw new AppError('ERR_AUTH_INVALID', 'client credentials are not valid');
    }
    assertClientUsable(client);
    return principalOf(client, currentScopes(client));
  }

  async secretMatches(
    client: ClientRecord,
    secret: string,
    beforeHash?: () => Promise<void>,
  ): Promise<boolean> {
    const key = createHmac('sha256', this.cacheKey)
      .update(`${client.clientId}\u0000${secret}`)
      .digest('base64');
    const hit = this.basicCache.get(key);
    if (hit && hit.hash === client.secretHash && hit.generation === client.tokenGeneration) return true;
    if (hit) this.basicCache.delete(key);
    await beforeHash?.();
    const ok = await verifySecret(secret, client.secretHash);
    if (ok) {
      if (this.basicCache.size > 10_000) this.basicCache.clear();
      this.basicCache.set(key, { hash: client.secretHash, generation: client.tokenGeneration });
    }
    return ok;
  }
}

export function parseBasic(header: string): { id: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded.
    return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
  } catch {
    return null;
  }
}

export function parseBearer(header: string): string | null {
  const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
  return m ? m[1] : null;
}
