import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';

/**
 * Webhook signatures (docs/decisions/0041-webhook-signatures.md): Standard Webhooks headers with
 * the asymmetric `v1a` scheme, Ed25519 over `{webhook-id}.{webhook-timestamp}.{body}`. Receivers
 * verify with the public JWK published under the key's id; no shared secret exists.
 */

/** A public signing key as published (RFC 8037 OKP JWK). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface NewSigningKey {
  publicKeyId: string;
  publicJwk: PublicJwk;
  /** The private key as stored: sealed with the configured secret, or plain PKCS#8. */
  storedPrivateKey: string;
}

const SEALED = 'enc1:';
const PLAIN = 'pkcs8:';

export function newPublicKeyId(): string {
  return `whk_${randomBytes(16).toString('base64url')}`;
}

/** AES-256-GCM with the key id as associated data: a sealed key cannot be moved to another id. */
function seal(der: Buffer, secret: Buffer, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const body = Buffer.concat([cipher.update(der), cipher.final()]);
  return SEALED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function unseal(stored: string, secret: Buffer, kid: string): Buffer {
  const raw = Buffer.from(stored.slice(SEALED.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', secret, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

export function generateSigningKey(secret: Buffer | null): NewSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = newPublicKeyId();
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string };
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    publicKeyId: kid,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
    storedPrivateKey: secret ? seal(der, secret, kid) : PLAIN + der.toString('base64'),
  };
}

/** The private key from its stored form; a sealed key needs the secret it was sealed with. */
export function openPrivateKey(stored: string, secret: Buffer | null, kid: string): KeyObject {
  let der: Buffer;
  if (stored.startsWith(SEALED)) {
    if (!secret) throw new Error(`webhook key ${kid} is encrypted and HEARTH_WEBHOOK_KEY_SECRET is not set`);
    der = unseal(stored, secret, kid);
  } else if (stored.startsWith(PLAIN)) {
    der = Buffer.from(stored.slice(PLAIN.length), 'base64');
  } else {
    throw new Error(`webhook key ${kid} has an unknown storage format`);
  }
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** The signed content of Standard Webhooks: id, timestamp (seconds) and the exact body bytes. */
export function signedContent(id: string, timestamp: number, body: string): Buffer {
  return Buffer.from(`${id}.${timestamp}.${body}`, 'utf8');
}

/** `webhook-signature`: one `v1a,<base64>` per key, space-separated (newest key first). */
export function signatureHeader(
  keys: readonly KeyObject[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const content = signedContent(id, timestamp, body);
  return keys.map((k) => `v1a,${sign(null, content, k).toString('base64')}`).join(' ');
}
