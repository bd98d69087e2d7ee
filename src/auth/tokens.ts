import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../http/errors.js';
import type { ClientRecord } from './client-store.js';
import { type KeyStore, TOKEN_ALG } from './keys.js';
import type { Scope } from './scopes.js';

export const TOKEN_AUDIENCE = 'hearth-api';

export interface TokenClaims {
  sub: string;
  tenant_id?: string;
  roles: string[];
  scope: string;
  verticals: string[];
  integration_id?: string;
  /** Generation of the client's credentials when the token was issued. */
  gen: number;
  iat: number;
  exp: number;
  jti: string;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

const MAX_CACHED = 20_000;

/**
 * Issues and verifies access tokens (EdDSA JWTs). A verified token is cached until it expires:
 * signature and claims cannot change, and revocation is decided from the client record on every
 * request, never from this cache.
 */
export class TokenService {
  private verified = new Map<string, TokenClaims>();

  constructor(
    private readonly keys: KeyStore,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(client: ClientRecord, scopes: readonly Scope[]): Promise<IssuedToken> {
    const { kid, key } = await this.keys.currentSigningKey();
    const scope = scopes.join(' ');
    const payload: Record<string, unknown> = {
      roles: client.roles,
      scope,
      verticals: client.verticalIds,
      gen: client.tokenGeneration,
    };
    if (client.tenantId) payload.tenant_id = client.tenantId;
    if (client.integrationId) payload.integration_id = client.integrationId;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: TOKEN_ALG, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(client.clientId)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .setJti(randomUUID())
      .sign(key);
    return { access_token: token, token_type: 'Bearer', expires_in: this.ttlSeconds, scope };
  }

  async verify(token: string): Promise<TokenClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp * 1000 > Date.now()) return cached;
      this.verified.delete(token);
      throw new AppError('ERR_AUTH_EXPIRED', 'access token has expired');
    }
    const claims = await this.verifyUncached(token);
    if (this.verified.size >= MAX_CACHED) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  private async verifyUncached(token: string): Promise<TokenClaims> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== TOKEN_ALG) throw new Error('alg');
      kid = header.kid;
    } catch {
      throw new AppError('ERR_AUTH_INVALID', 'access token is malformed or uses an unsupported algorithm');
    }
    const key = kid ? await this.keys.verifyKey(kid) : null;
    if (!key) throw new AppError('ERR_AUTH_INVALID', 'access token was not signed by this server');
    try {
      const { payload } = await jwtVerify(token, key, {
        issuer: this.issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: [TOKEN_ALG],
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      });
      if (
        typeof payload.scope !== 'string' ||
        typeof payload.gen !== 'number' ||
        !Array.isArray(payload.roles)
      ) {
        throw new AppError('ERR_AUTH_INVALID', 'access token lacks required claims');
      }
      return payload as unknown as TokenClaims;
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new AppError('ERR_AUTH_EXPIRED', 'access token has expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        throw new AppError('ERR_AUTH_INVALID', `access token claim "${err.claim}" is not valid here`);
      }
      throw new AppError('ERR_AUTH_INVALID', 'access token signature is invalid');
    }
  }
}
