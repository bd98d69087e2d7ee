import type { ValidateFunction } from 'ajv';
import type { FastifySchema } from 'fastify';
import type { ClientCache } from '../auth/client-cache.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import { AppError, type FieldError } from '../http/errors.js';
import { createValidatorCompiler, validationProblem } from '../http/validation.js';
import type { Job } from '../jobs/queue.js';
import { PermanentJobError } from '../jobs/runner.js';
import { identityKey } from '../registry/normalize.js';
import { type PersonPatch as PatchInput, PersonPatch } from '../registry/person-schemas.js';
import type { PersonService } from '../registry/person-service.js';
import type * as crepo from './contract-repo.js';
import { completed, integrationActor, reloadExchange } from './exchange-gate.js';
import { matchIdentity, meetsConsentRequirements } from './exchange-pull-repo.js';
import { decodeRecord } from './exchange-push-input.js';
import * as xrepo from './exchange-repo.js';
import type * as repo from './repo.js';

const BATCH = 100;

interface Context {
  exchange: xrepo.ExchangeRow;
  contract: crepo.ContractRow;
  integration: repo.IntegrationRow;
}

type Outcome = xrepo.RecordOutcomeInput;

function errorsOf(err: AppError): FieldError[] {
  if (err.errors && err.errors.length > 0) return err.errors.map((e) => ({ ...e, code: e.code ?? err.code }));
  return [{ field: '(record)', message: err.message, code: err.code }];
}

const rejected = (errors: FieldError[]): Outcome => ({ outcome: 'rejected', errors });

export interface PushJobDeps {
  db: Database;
  persons: PersonService;
  clientCache: ClientCache;
}

/**
 * Processes an accepted push, record by record: each record is matched by identity (type and
 * number) and updates the one consented person holding it through the person service, in its own
 * transaction, with the integration's client as the actor (provenance: updated_by its client id,
 * last update system `integration:<id>`); a push never creates a person (decision 0072). A record's outcome is
 * stored as it completes, so a job that dies is resumed where it stopped.
 */
export function createPushJob(deps: PushJobDeps) {
  const { db, persons, clientCache } = deps;
  const compile = createValidatorCompiler();
  const validator = (schema: unknown) =>
    compile({
      schema: schema as FastifySchema,
      httpPart: 'body',
      method: 'POST',
      url: '/',
    }) as ValidateFunction;
  const checkPatch = validator(PersonPatch);

  function schemaErrors(check: ValidateFunction, input: unknown): FieldError[] | null {
    if (check(input)) return null;
    return validationProblem(check.errors ?? [], 'body').errors ?? [];
  }

  /** Loads the exchange, checks the rules again (they may have changed since it was accepted). */
  async function begin(tenantId: string, integrationId: string, exchangeId: string): Promise<Context | null> {
    return db.transaction(
      async (tx) => {
        const found = await reloadExchange(tx, tenantId, integrationId, exchangeId, 'push');
        if (!found) return null;
        if (!found.admitted) {
          const e = found.refusal!;
          await xrepo.rejectPending(tx, tenantId, exchangeId, [
            { field: '(record)', message: `the push was refused when processed: ${e.message}`, code: e.code },
          ]);
          await xrepo.finishExchange(tx, tenantId, exchangeId, {
            status: 'failed',
            errorCode: e.code,
            errorDetail: e.message,
          });
          return null;
        }
        await xrepo.finishExchange(tx, tenantId, exchangeId, { status: 'running' });
        return { exchange: found.exchange, ...found.admitted };
      },
      { tenantId },
    );
  }

  const actorOf = (ctx: Context): Promise<Actor> =>
    integrationActor(clientCache, ctx.integration, ctx.exchange);

  async function processRecord(ctx: Context, actor: Actor, recordNo: number, raw: unknown): Promise<void> {
    const tenantId = ctx.exchange.tenant_id;
    const save = (o: Outcome) =>
      tenantTx(db, actor, (tx) => xrepo.setRecordOutcome(tx, tenantId, ctx.exchange.id, recordNo, o));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return save(rejected([{ field: '(record)', message: 'a record must be an object of fields' }]));
    }
    const d = decodeRecord(
      ctx.exchange.format ?? 'json',
      raw as Record<string, unknown>,
      ctx.contract.field_list,
    );
    if (d.errors.length > 0 || !d.identityType || !d.identityNumber) return save(rejected(d.errors));
    const identityType = d.identityType;
    const identityNumber = d.identityNumber;
    // Judged before any lookup, so what a record is told about its fields never depends on
    // whether someone holds its identity.
    const errors = schemaErrors(checkPatch, d.fields);
    if (errors) return save(rejected(errors));
    try {
      const matches = await tenantTx(db, actor, (tx) =>
        matchIdentity(tx, tenantId, identityType, identityKey(identityNumber)),
      );
      // The unique identity index admits one active holder; archived holders are read-only.
      const active = matches.filter((m) => !m.person_archived);
      const match = active.length === 1 ? active[0] : null;
      // Unused, held by a person this integration may not see, archived: one and the same answer,
      // and nobody is created (docs/decisions/0072-push-without-existence-oracle.md).
      if (!match) return save(rejected([noPersonToUpdate()]));
      const required = ctx.contract.consent_requirements?.vertical_ids ?? [];
      const consented = await tenantTx(db, actor, (tx) =>
        meetsConsentRequirements(tx, tenantId, match.person_id, required),
      );
      if (!consented) return save(rejected([noPersonToUpdate()]));
      // The person service checks the caller's consent again, in the update's transaction.
      const view = await persons.patch(actor, match.person_id, d.fields as PatchInput).catch((err) => {
        throw err instanceof AppError && err.code === 'ERR_NOT_FOUND'
          ? new AppError('ERR_NOT_FOUND', noPersonToUpdate().message, { errors: [noPersonToUpdate()] })
          : err;
      });
      return save({ outcome: 'updated', personId: view.person_id, versionId: view.version_id });
    } catch (err) {
      if (err instanceof AppError) return save(rejected(errorsOf(err)));
      // Bad data the database refused (class 22 data exceptions, 23 integrity): the record's fault.
      if (isPgError(err) && /^2[23]/.test(err.code ?? '')) {
        return save(rejected([{ field: '(record)', message: 'the database refused this record' }]));
      }
      throw err;
    }
  }

  return {
    async run(job: Job): Promise<void> {
      const tenantId = job.tenant_id;
      const exchangeId = String(job.payload.exchange_id ?? '');
      const integrationId = String(job.payload.integration_id ?? '');
      if (!tenantId) throw new PermanentJobError('an exchange job needs a tenant');
      const ctx = await begin(tenantId, integrationId, exchangeId);
      if (!ctx) return;
      let actor: Actor;
      try {
        actor = await actorOf(ctx);
      } catch (err) {
        await db.transaction(
          async (tx) => {
            const detail = err instanceof Error ? err.message : String(err);
            await xrepo.rejectPending(tx, tenantId, exchangeId, [{ field: '(record)', message: detail }]);
            await xrepo.finishExchange(tx, tenantId, exchangeId, {
              status: 'failed',
              errorCode: 'ERR_AUTH_INVALID',
              errorDetail: detail,
            });
          },
          { tenantId },
        );
        return;
      }
      let after = 0;
      for (;;) {
        const batch = await tenantTx(db, actor, (tx) =>
          xrepo.pendingRecords(tx, tenantId, exchangeId, after, BATCH),
        );
        if (batch.length === 0) break;
        for (const r of batch) {
          await processRecord(ctx, actor, r.record_no, r.input);
          after = r.record_no;
        }
      }
      await tenantTx(db, actor, async (tx) => {
        const row = await xrepo.finishExchange(tx, tenantId, exchangeId, { status: 'completed' });
        await completed(tx, actor, tenantId, row);
      });
    },
  };
}

/**
 * The one refusal of a record whose identity names nobody this integration may update: unused,
 * held by a person without its consent, or archived. Identical in every case, so a push result
 * never tells whether an unconsented person exists.
 */
function noPersonToUpdate(): FieldError {
  return {
    field: 'identity_number',
    message:
      'no person this integration may update holds this identity (a push updates consented persons only)',
    code: 'ERR_NOT_FOUND',
  };
}
