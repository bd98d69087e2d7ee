import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { stableStringify } from '../../lib/stable-json.js';

/**
 * DCI envelope signatures (docs/decisions/0065-dci-signatures.md). The contract shows an HTTP
 * Signature style string, `kidId="{sender_id}|{key_id}|{algorithm}"`, Ed25519, over
 * "{header}+{message}" without fixing a canonical form. Hearth signs and verifies this string:
 *
 *   (created): <unix seconds>
 *   (expires): <unix seconds>
 *   digest: BLAKE-512=<base64 BLAKE2b-512 of canonical(header) + canonical(message)>
 *
 * where canonical() is JSON with object keys sorted at every level (src/lib/stable-json.ts).
 */

export interface SignatureFields {
  namespace?: string;
  kidId: string;
  algorithm: string;
  created: number;
  expires: number;
  headers: string;
  signature: string;
}

export const SIGNED_HEADERS = '(created) (expires) digest';
/** Clock skew tolerated on `created`. */
const SKEW_SECONDS = 300;
/** The longest validity a signature may claim. */
const MAX_LIFETIME_SECONDS = 86_400;

export function digestOf(header: unknown, message: unknown): string {
  const content = stableStringify(header) + (message === undefined ? '' : stableStringify(message));
  return createHash('blake2b512').update(content, 'utf8').digest('base64');
}

export function signingString(created: number, expires: number, digest: string): string {
  return `(created): ${created}\n(expires): ${expires}\ndigest: BLAKE-512=${digest}`;
}

/** Parses `Signature: namespace="…", kidId="…", …`; null when it is not of that form. */
export function parseSignature(raw: string): SignatureFields | null {
  const text = raw.trim().replace(/^Signature:\s*/i, '');
  const fields: Record<string, string> = {};
  const re = /\s*([A-Za-z]+)="([^"]*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    const m = re.exec(text);
    if (!m) break;
    fields[m[1]] = m[2];
    at = re.lastIndex;
  }
  if (at !== text.length) return null;
  const created = Number(fields.created);
  const expires = Number(fields.expires);
  if (!fields.kidId || !fields.algorithm || !fields.signature || !fields.headers) return null;
  if (!Number.isInteger(created) || !Number.isInteger(expires)) return null;
  return {
    namespace: fields.namespace,
    kidId: fields.kidId,
    algorithm: fields.algorithm,
    created,
    expires,
    headers: fields.headers,
    signature: fields.signature,
  };
}

export type VerifyFailure =
  | 'malformed'
  | 'wrong_sender'
  | 'unknown_key'
  | 'unsupported_algorithm'
  | 'not_yet_valid'
  | 'expired'
  | 'bad_signature';

/** Checks a signature against the sender's registered Ed25519 key; null when it holds. */
export function verifyEnvelopeSignature(
  raw: string,
  envelope: { header: unknown; message: unknown },
  expected: { senderId: string; keyId: string | null; publicKey: KeyObject },
  now = Math.floor(Date.now() / 1000),
): VerifyFailure | null {
  const f = parseSignature(raw);
  if (!f || f.headers.trim() !== SIGNED_HEADERS) return 'malformed';
  const [sender, keyId, alg] = f.kidId.split('|');
  if (sender !== expected.senderId) return 'wrong_sender';
  if (expected.keyId !== null && keyId !== expected.keyId) return 'unknown_key';
  if (f.algorithm.toLowerCase() !== 'ed25519' || (alg !== undefined && alg.toLowerCase() !== 'ed25519')) {
    return 'unsupported_algorithm';
  }
  if (f.created > now + SKEW_SECONDS) return 'not_yet_valid';
  if (f.expires <= now || f.expires < f.created || f.expires - f.created > MAX_LIFETIME_SECONDS)
    return 'expired';
  const content = signingString(f.created, f.expires, digestOf(envelope.header, envelope.message));
  let ok = false;
  try {
    ok = verify(null, Buffer.from(content, 'utf8'), expected.publicKey, Buffer.from(f.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? null : 'bad_signature';
}

/** Signs an envelope: the `signature` string to put beside its header and message. */
export function signEnvelope(
  envelope: { header: unknown; message: unknown },
  key: { kid: string; privateKey: KeyObject; senderId: string },
  lifetimeSeconds = 3600,
  now = Math.floor(Date.now() / 1000),
): string {
  const expires = now + lifetimeSeconds;
  const content = signingString(now, expires, digestOf(envelope.header, envelope.message));
  const sig = sign(null, Buffer.from(content, 'utf8'), key.privateKey).toString('base64');
  return (
    `Signature: namespace="dci", kidId="${key.senderId}|${key.kid}|ed25519", algorithm="ed25519", ` +
    `created="${now}", expires="${expires}", headers="${SIGNED_HEADERS}", signature="${sig}"`
  );
}

/** An Ed25519 public key from an OKP JWK; null when it is not one. */
export function ed25519Key(jwk: unknown): KeyObject | null {
  const j = jwk as { kty?: unknown; crv?: unknown; x?: unknown } | null;
  if (j?.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string') return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: j.x }, format: 'jwk' });
  } catch {
    return null;
  }
}
