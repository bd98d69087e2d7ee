import { createHash } from 'node:crypto';
import { recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError } from '../http/errors.js';
import { enqueueJob } from '../jobs/queue.js';
import { uuidv7 } from '../lib/ids.js';
import { stableStringify } from '../lib/stable-json.js';
import { admit, assertOwnClient, exchangeAudit, loadIntegration, logRefusal } from './exchange-gate.js';
import * as xrepo from './exchange-repo.js';
import type { PushAccepted, PushBody } from './exchange-schemas.js';
import { parseCsvRecords, tooManyRecords } from './formats/csv.js';
import { parseXmlRecords } from './formats/xml.js';

export const PUSH_JOB = 'exchange.push';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

export interface PushOutcome {
  /** True when an earlier push with the same idempotency key is answered again. */
  replayed: boolean;
  accepted: PushAccepted;
}

/** The payload as a list of records, or a 4xx: wrong shape for the format, malformed, too many. */
export function recordsOf(body: PushBody, maxRecords: number): Record<string, unknown>[] {
  const { format, payload } = body;
  if (format === 'json') {
    if (!Array.isArray(payload)) {
      throw new AppError(
        'ERR_VAL_INVALID_FORMAT',
        'payload: must be an array of records when format is json',
        {
          errors: [{ field: 'payload', message: 'must be an array of records when format is json' }],
        },
      );
    }
    if (payload.length > maxRecords) throw tooManyRecords(maxRecords);
    return payload;
  }
  if (typeof payload !== 'string') {
    throw new AppError(
      'ERR_VAL_INVALID_FORMAT',
      `payload: must be ${format.toUpperCase()} text when format is ${format}`,
      {
        errors: [
          { field: 'payload', message: `must be ${format.toUpperCase()} text when format is ${format}` },
        ],
      },
    );
  }
  const records =
    format === 'csv' ? parseCsvRecords(payload, maxRecords) : parseXmlRecords(payload, maxRecords);
  if (records.length === 0) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'payload: holds no records', {
      errors: [{ field: 'payload', message: 'holds no records' }],
    });
  }
  return records;
}

/** The idempotency key of a push: the body's or the header's, and they must agree. */
export function keyOf(body: PushBody, header: string | undefined): string | null {
  if (header !== undefined && !KEY_RE.test(header)) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'Idempotency-Key must be 1–255 visible ASCII characters', {
      status: 400,
      errors: [{ field: 'Idempotency-Key', message: 'invalid' }],
    });
  }
  if (body.idempotency_key !== undefined && header !== undefined && body.idempotency_key !== header) {
    throw new AppError('ERR_IDEMPOTENCY_MISMATCH', 'idempotency_key and the Idempotency-Key header differ', {
      errors: [{ field: 'idempotency_key', message: 'differs from the Idempotency-Key header' }],
    });
  }
  return body.idempotency_key ?? header ?? null;
}

const hashOf = (body: PushBody) =>
  createHash('sha256')
    .update(stableStringify({ contract_id: body.contract_id, format: body.format, payload: body.payload }))
    .digest('hex');

const acceptedOf = (row: xrepo.ExchangeRow): PushAccepted => ({
  exchange_id: row.id,
  status: row.status,
  received_at: row.received_at.toISOString(),
});

export function createPushService(db: Database, opts: { maxRecords: number; nudge: () => void }) {
  async function accept(
    actor: Actor,
    tenantId: string,
    integrationId: string,
    body: PushBody,
    key: string | null,
  ): Promise<PushOutcome> {
    const hash = hashOf(body);
    const outcome = await tenantTx(db, actor, async (tx) => {
      // A retry is answered before the contract rules run again: it changes nothing.
      await loadIntegration(tx, tenantId, integrationId);
      assertOwnClient(actor, integrationId);
      if (key) {
        const earlier = await xrepo.findByIdempotencyKey(tx, tenantId, integrationId, key);
        if (earlier) {
          if (earlier.payload_hash !== hash) {
            throw new AppError(
              'ERR_IDEMPOTENCY_MISMATCH',
              'this idempotency key was used for a push with another payload',
              { extra: { exchange_id: earlier.id } },
            );
          }
          return { replayed: true, accepted: acceptedOf(earlier) };
        }
      }
      const { contract } = await admit(tx, actor, tenantId, integrationId, 'push', body.contract_id);
      const records = recordsOf(body, opts.maxRecords);
      const row = await xrepo.insertExchange(tx, {
        tenantId,
        id: uuidv7(),
        integrationId,
        contractId: contract.id,
        requestedContractId: contract.id,
        direction: 'push',
        status: 'accepted',
        format: body.format,
        idempotencyKey: key,
        payloadHash: hash,
        clientId: actor.principal.clientId,
        correlationId: actor.correlationId,
        dataCategories: contract.data_categories,
        consentChecks: {
          purpose: 'write',
          grace_period_allowed: false,
          required_vertical_ids: contract.consent_requirements?.vertical_ids ?? [],
          updates_need_consent_of_caller: true,
        },
        recordsReceived: records.length,
      });
      await xrepo.insertRecords(tx, tenantId, row.id, records);
      await enqueueJob(tx, {
        kind: PUSH_JOB,
        tenantId,
        payload: { exchange_id: row.id, integration_id: integrationId },
      });
      await recordAudit(
        tx,
        actor,
        exchangeAudit(actor, 'exchange.push.accepted', row.id, {
          integration_id: integrationId,
          contract_id: contract.id,
          format: body.format,
          records: records.length,
        }),
      );
      return { replayed: false, accepted: acceptedOf(row) };
    });
    if (!outcome.replayed) opts.nudge();
    return outcome;
  }

  return {
    /**
     * Accepts a push: contract rules, idempotency, payload parsed and stored, a job to process
     * it, all in one transaction; 202 at once. Refusals leave a failed exchange row and write
     * nothing else.
     */
    async push(
      actor: Actor,
      integrationId: string,
      body: PushBody,
      headerKey: string | undefined,
    ): Promise<PushOutcome> {
      const tenantId = requireTenant(actor);
      let key: string | null = null;
      try {
        key = keyOf(body, headerKey);
        return await accept(actor, tenantId, integrationId, body, key);
      } catch (err) {
        const error =
          isPgError(err) && err.code === PgCode.uniqueViolation
            ? new AppError(
                'ERR_IDEMPOTENCY_IN_PROGRESS',
                'a push with this idempotency key is being accepted',
                {
                  headers: { 'Retry-After': '1' },
                },
              )
            : err;
        if (error instanceof AppError && error.code !== 'ERR_NOT_FOUND') {
          await logRefusal(db, {
            tenantId,
            integrationId,
            direction: 'push',
            clientId: actor.principal.clientId,
            correlationId: actor.correlationId,
            contractId: body.contract_id,
            format: body.format,
            idempotencyKey: key ?? body.idempotency_key ?? null,
            error,
          }).catch(() => undefined);
        }
        throw error;
      }
    },
  };
}
