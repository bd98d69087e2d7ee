import { asThirdParty } from '../../access/reader.js';
import type { Actor } from '../../auth/principal.js';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/database.js';
import { parseTargetUrl, TargetRefused } from '../../webhooks/target-url.js';
import { dciRefusal } from './codes.js';
import type { EnvelopeBody, MsgHeader } from './schemas.js';
import { ed25519Key, verifyEnvelopeSignature } from './signature.js';
import { findSender, type SenderRow } from './subscription-repo.js';
import { rememberMessage } from './txn-repo.js';

/**
 * Whoever calls the DCI face reads as an integration: consent-bound, never ROOT (a person without
 * consent is never returned, counted or notified, whatever the caller's roles).
 */
export function dciActor(actor: Actor): Actor {
  return asThirdParty(actor);
}

export interface Admitted {
  sender: SenderRow | null;
  /** Where the callback goes: header.sender_uri, else the sender's registered default; null: none. */
  callbackUrl: string | null;
}

/**
 * The per-sender rules of a request: a registered sender must use its sender_id; its envelope
 * signature is verified when its policy requires one; sender_uri must be a URL we may call.
 */
export async function admit(
  tx: Tx,
  actor: Actor,
  tenantId: string,
  config: Config,
  body: EnvelopeBody,
  header: MsgHeader,
  async: boolean,
): Promise<Admitted> {
  const sender = await findSender(tx, tenantId, actor.principal.clientId);
  if (sender && header.sender_id !== sender.sender_id) {
    throw dciRefusal(
      'ERR_SEC_FORBIDDEN',
      'err.sender_id.invalid',
      'header.sender_id is not the sender id registered for this client',
      {
        errors: [{ field: 'header.sender_id', message: 'is not the registered sender id' }],
      },
    );
  }
  if (sender?.signature_required) {
    if (!body.signature || body.signature.trim() === '') {
      throw dciRefusal(
        'ERR_BAD_REQUEST',
        'err.signature.missing',
        'this sender must sign its messages: signature is required',
        {
          errors: [{ field: 'signature', message: 'is required' }],
        },
      );
    }
    const key = ed25519Key(sender.public_jwk);
    const failure = key
      ? verifyEnvelopeSignature(
          body.signature,
          { header: body.header, message: body.message },
          { senderId: sender.sender_id, keyId: sender.public_key_id, publicKey: key },
        )
      : 'unknown_key';
    if (failure) {
      throw dciRefusal(
        'ERR_BAD_REQUEST',
        'err.signature.invalid',
        `signature does not verify (${failure.replaceAll('_', ' ')})`,
        {
          errors: [{ field: 'signature', message: failure }],
        },
      );
    }
  }
  let callbackUrl: string | null = null;
  if (async) {
    if (header.sender_uri !== undefined) {
      try {
        callbackUrl = parseTargetUrl(header.sender_uri, config.webhooks.allowInsecureTargets).toString();
      } catch (err) {
        if (!(err instanceof TargetRefused)) throw err;
        throw dciRefusal('ERR_BAD_REQUEST', 'err.sender_uri.invalid', `header.sender_uri ${err.message}`, {
          errors: [{ field: 'header.sender_uri', message: err.message }],
        });
      }
    } else {
      callbackUrl = sender?.callback_url ?? null;
    }
  }
  return { sender, callbackUrl };
}

/** Refuses a message id the same client and sender used within the replay window. */
export async function assertFresh(
  tx: Tx,
  tenantId: string,
  actor: Actor,
  header: MsgHeader,
  windowSeconds: number,
) {
  const fresh = await rememberMessage(tx, {
    tenantId,
    clientId: actor.principal.clientId,
    senderId: header.sender_id,
    messageId: header.message_id,
    windowSeconds,
  });
  if (!fresh) {
    throw dciRefusal(
      'ERR_CONFLICT',
      'err.request.bad',
      `message_id ${header.message_id.slice(0, 100)} was already received from this sender`,
      {
        reason: 'rjct.message_id.duplicate',
        errors: [{ field: 'header.message_id', message: 'duplicate within the replay window' }],
      },
    );
  }
}
