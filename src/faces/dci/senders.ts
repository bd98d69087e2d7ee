import { type Static, Type } from 'typebox';
import { auditOf, recordAudit } from '../../audit/audit.js';
import type { Actor } from '../../auth/principal.js';
import { findClient } from '../../clients/repo.js';
import type { Config } from '../../config.js';
import { type Database, isPgError, PgCode } from '../../db/database.js';
import { requireTenant, tenantTx } from '../../db/tx.js';
import { AppError, conflict, notFound } from '../../http/errors.js';
import { Body, DateTime, Nullable } from '../../http/schemas.js';
import { checkTarget, TargetRefused } from '../../webhooks/target-url.js';
import { ed25519Key } from './signature.js';
import { findSender, type SenderRow, upsertSender } from './subscription-repo.js';

const PublicJwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
    kid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    alg: Type.Optional(Type.String({ maxLength: 20 })),
    use: Type.Optional(Type.String({ maxLength: 10 })),
  },
  { additionalProperties: false, description: 'Ed25519 public key (RFC 8037 OKP JWK)' },
);

export const SenderPut = Body({
  sender_id: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'the header.sender_id this client must use',
  }),
  callback_url: Type.Optional(
    Nullable(
      Type.String({
        minLength: 8,
        maxLength: 2048,
        description: 'default callback URL when a request has no sender_uri',
      }),
    ),
  ),
  signature_required: Type.Optional(
    Type.Boolean({ default: false, description: 'refuse unsigned or badly signed envelopes' }),
  ),
  public_key: Type.Optional(Nullable(PublicJwk)),
});
export type SenderPut = Static<typeof SenderPut>;

export const Sender = Type.Object({
  client_id: Type.String(),
  sender_id: Type.String(),
  callback_url: Nullable(Type.String()),
  signature_required: Type.Boolean(),
  public_key: Nullable(Type.Record(Type.String(), Type.Unknown())),
  public_key_id: Nullable(Type.String()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Sender = Static<typeof Sender>;

function out(r: SenderRow): Sender {
  return {
    client_id: r.client_id,
    sender_id: r.sender_id,
    callback_url: r.callback_url,
    signature_required: r.signature_required,
    public_key: r.public_jwk,
    public_key_id: r.public_key_id,
    version_id: r.version_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

const rule = (field: string, message: string) =>
  new AppError('ERR_VAL_RULE_VIOLATION', `${field}: ${message}`, { errors: [{ field, message }] });

/** DCI sender registrations of API clients (tenant admins, scope integrations:manage). */
export function createDciSenderService(db: Database, config: Config) {
  return {
    async put(actor: Actor, clientId: string, input: SenderPut): Promise<Sender> {
      const tenantId = requireTenant(actor);
      const callbackUrl = input.callback_url ?? null;
      if (callbackUrl !== null) {
        try {
          await checkTarget(callbackUrl, config.webhooks.allowInsecureTargets);
        } catch (err) {
          if (err instanceof TargetRefused) throw rule('callback_url', err.message);
          throw err;
        }
      }
      const jwk = input.public_key ?? null;
      if (jwk && !ed25519Key(jwk)) throw rule('public_key', 'is not an Ed25519 public key');
      const signatureRequired = input.signature_required ?? false;
      if (signatureRequired && !jwk) throw rule('public_key', 'is required when signature_required is true');
      try {
        return await tenantTx(db, actor, async (tx) => {
          const client = await findClient(tx, clientId);
          if (!client || client.tenant_id !== tenantId) throw notFound('client');
          const row = await upsertSender(tx, {
            tenantId,
            clientId,
            senderId: input.sender_id,
            callbackUrl,
            signatureRequired,
            publicKeyId: jwk ? (jwk.kid ?? 'default') : null,
            publicJwk: jwk
              ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.kid ? { kid: jwk.kid } : {}) }
              : null,
            by: actor.principal.clientId,
          });
          await recordAudit(
            tx,
            actor,
            auditOf(
              actor,
              'dci_sender.put',
              { type: 'dci_sender', id: clientId },
              {
                details: {
                  sender_id: input.sender_id,
                  signature_required: signatureRequired,
                  version_id: row.version_id,
                },
              },
            ),
          );
          return out(row);
        });
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) {
          throw conflict('another client of this tenant uses this sender_id', 'sender_id');
        }
        throw err;
      }
    },

    async get(actor: Actor, clientId: string): Promise<Sender> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, (tx) => findSender(tx, tenantId, clientId));
      if (!row) throw notFound('DCI sender');
      return out(row);
    },
  };
}

export type DciSenderService = ReturnType<typeof createDciSenderService>;
