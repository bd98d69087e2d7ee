import { KeyObject, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { KeyStore } from '../../auth/keys.js';
import { TOKEN_ALG } from '../../auth/keys.js';
import type { Config } from '../../config.js';
import { type AttemptOutcome, postDelivery } from '../../webhooks/http-client.js';
import { checkTarget, TargetRefused } from '../../webhooks/target-url.js';
import { signEnvelope } from './signature.js';

/**
 * What Hearth sends to DCI callers: envelopes signed with Hearth's published Ed25519 key (the one
 * of /.well-known/jwks.json), a short-lived bearer token of ours on every callback, and delivery
 * through the webhook engine's SSRF guard and HTTP client (no redirects, capped answers), which
 * connects only to the addresses it checked as it connects (docs/decisions/0046, 0066).
 */
/** One attempt; `permanent` when retrying cannot help (the target is refused). */
export type PostOutcome = AttemptOutcome & { permanent?: boolean };

export interface Outbound {
  /** Adds our signature to an envelope. */
  sign<T extends { header: unknown; message?: unknown }>(envelope: T): T & { signature: string };
  /** POSTs a callback envelope; the outcome of the attempt (never throws). */
  post(url: string, audience: string, action: string, body: string): Promise<PostOutcome>;
}

/**
 * A refused target is final when the URL or the addresses are not allowed; a name that does not
 * resolve (a resolver timeout or failure, often passing) is retried like any failed attempt.
 */
function isFinalRefusal(error: string): boolean {
  return (
    error.startsWith('target refused: ') && !/does not resolve|did not resolve in time|has no IPv/.test(error)
  );
}

export function createOutbound(config: Config, keys: KeyStore): Outbound {
  const participantId = config.dci.participantId;

  function signingKey(): { kid: string; privateKey: KeyObject } {
    const { kid, key } = keys.signingKey();
    const privateKey =
      key instanceof KeyObject ? key : KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    return { kid, privateKey };
  }

  async function bearer(audience: string, action: string): Promise<string> {
    const { kid, key } = await keys.currentSigningKey();
    return new SignJWT({ scope: `registry.${action}` })
      .setProtectedHeader({ alg: TOKEN_ALG, kid, typ: 'at+jwt' })
      .setIssuer(config.publicUrl)
      .setSubject(participantId)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('300s')
      .setJti(randomUUID())
      .sign(key);
  }

  return {
    sign(envelope) {
      const { kid, privateKey } = signingKey();
      const signature = signEnvelope(
        { header: envelope.header, message: envelope.message },
        { kid, privateKey, senderId: participantId },
      );
      return { signature, ...envelope };
    },

    async post(url, audience, action, body) {
      const started = performance.now();
      const allowInsecure = config.webhooks.allowInsecureTargets;
      try {
        // The URL's form and the name's current addresses, before a bearer token is minted. A
        // refusal is final (0066). This does not protect the connection: the name is resolved again.
        await checkTarget(url, allowInsecure);
      } catch (err) {
        const message = err instanceof TargetRefused ? `target refused: ${err.message}` : String(err);
        return {
          statusCode: null,
          error: message,
          excerpt: null,
          durationMs: Math.round(performance.now() - started),
          permanent: isFinalRefusal(message),
        };
      }
      const outcome = await postDelivery(
        url,
        {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${await bearer(audience, action)}`,
          'user-agent': 'hearth-dci',
        },
        body,
        {
          timeoutMs: config.webhooks.timeoutMs,
          maxBytes: config.webhooks.responseMaxBytes,
          // The address rule again as the socket connects, on the very answer it connects to
          // (pinnedLookup): a name that answered a public address above and a private one now
          // (DNS rebinding) is refused without a connection.
          allowInsecure,
        },
      );
      // Refused as it connected: as final as a refusal before the attempt.
      return outcome.error && isFinalRefusal(outcome.error) ? { ...outcome, permanent: true } : outcome;
    },
  };
}
