import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { ChangeFeed } from '../db/change-feed.js';
import type { Database } from '../db/database.js';

export const TOKEN_ALG = 'EdDSA';

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
}

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  verifyKey: VerifyKey;
  retiredAt: Date | null;
}

/**
 * Ed25519 token signing keys, kept in the database so every server process signs and verifies with
 * the same set. The newest unretired key signs; retired keys stay published and keep verifying for
 * one token lifetime after retirement. A rotation in any process reaches every process through the
 * change feed, and a process that cannot follow the feed reloads before it signs, so a retired key
 * never signs again.
 */
export class KeyStore {
  private signing: { kid: string; key: VerifyKey } | null = null;
  private keys = new Map<string, LoadedKey>();
  private lastReload = 0;
  private reloads = 0;

  constructor(
    private readonly db: Database,
    private readonly tokenTtlSeconds: number,
    private readonly changes: ChangeFeed,
  ) {
    changes.on('signing_keys', () => void this.reload().catch(() => {}));
  }

  async init(): Promise<void> {
    await this.reload();
    if (!this.signing) {
      await this.createKey();
      await this.reload();
    }
  }

  private async createKey(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
    const kid = `k${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
    await this.db.query(
      'INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [kid, TOKEN_ALG, await exportJWK(publicKey), await exportJWK(privateKey)],
    );
    return kid;
  }

  async reload(): Promise<void> {
    const run = ++this.reloads;
    const { rows } = await this.db.query<KeyRow>(
      `SELECT kid, alg, public_jwk, private_jwk, created_at, retired_at FROM signing_keys
        WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
        ORDER BY created_at DESC`,
      [this.tokenTtlSeconds + 300],
    );
    const keys = new Map<string, LoadedKey>();
    let signing: { kid: string; key: VerifyKey } | null = null;
    for (const row of rows) {
      keys.set(row.kid, {
        kid: row.kid,
        publicJwk: row.public_jwk,
        verifyKey: await importJWK(row.public_jwk, TOKEN_ALG),
        retiredAt: row.retired_at,
      });
      if (!signing && row.retired_at === null) {
        signing = { kid: row.kid, key: await importJWK(row.private_jwk, TOKEN_ALG) };
      }
    }
    // Two reloads in flight: only the latest started may win.
    if (run !== this.reloads) return;
    this.keys = keys;
    this.signing = signing;
    this.lastReload = Date.now();
  }

  signingKey(): { kid: string; key: VerifyKey } {
    if (!this.signing) throw new Error('no signing key loaded');
    return this.signing;
  }

  /** The signing key, reloaded first when this process may have missed a rotation. */
  async currentSigningKey(): Promise<{ kid: string; key: VerifyKey }> {
    if (!this.changes.fresh()) await this.reload();
    return this.signingKey();
  }

  /**
   * The verification key for a kid; an unknown kid triggers at most one reload per second, so a
   * key another process created (at its start, or by rotation) verifies here within a second.
   */
  async verifyKey(kid: string): Promise<VerifyKey | null> {
    const known = this.keys.get(kid);
    if (known) return known.verifyKey;
    if (Date.now() - this.lastReload < 1000) return null;
    await this.reload();
    return this.keys.get(kid)?.verifyKey ?? null;
  }

  /** Retires the current signing key and starts signing with a new one. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const { rows } = await this.db.query<{ kid: string }>(
      'UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL RETURNING kid',
    );
    const kid = await this.createKey();
    await this.reload();
    await this.changes.publish('signing_keys');
    return { kid, retired: rows.map((r) => r.kid) };
  }

  jwks(): { keys: (JWK & { kty: string; kid: string; use: string; alg: string })[] } {
    return {
      keys: [...this.keys.values()].map((k) => ({
        kty: k.publicJwk.kty ?? 'OKP',
        crv: k.publicJwk.crv,
        x: k.publicJwk.x,
        kid: k.kid,
        use: 'sig',
        alg: TOKEN_ALG,
      })),
    };
  }
}
