import type { ClientCache } from '../auth/client-cache.js';
import { type Actor, hasScope } from '../auth/principal.js';
import type { TokenService } from '../auth/tokens.js';
import type { Database } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, forbidden, notFound } from '../http/errors.js';
import { decodeCursor, decodeIdCursor, encodeCursor, pageOf } from '../http/pagination.js';
import type { JobRunner } from '../jobs/runner.js';
import type { PersonService } from '../registry/person-service.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { logRefusal } from './exchange-gate.js';
import { createPullService, PULL_FILE_JOB } from './exchange-pull.js';
import { createPushService, PUSH_JOB } from './exchange-push.js';
import { createPushJob } from './exchange-push-job.js';
import * as xrepo from './exchange-repo.js';
import type { ExchangeDetailQuery, ExchangeFormat, ExchangeListQuery } from './exchange-schemas.js';
import type { ExchangeDirection } from './lifecycle.js';
import * as repo from './repo.js';

/** How often expired file-pull outputs are deleted. */
const OUTPUT_SWEEP_INTERVAL_MS = 600_000;

export interface ExchangeDeps {
  db: Database;
  persons: PersonService;
  settings: TenantSettingsCache;
  jobs: JobRunner;
  tokens: TokenService;
  clientCache: ClientCache;
  maxRecords: number;
  /** Read replicas for streamed pulls (absent: the primary). */
  reads?: ReadReplicas;
}

/** A refusal that happened before the exchange service ran (authentication, scope, body checks). */
export interface EarlyRefusal {
  actor: Actor | null;
  /** The bearer token when authentication itself failed. */
  bearer: string | null;
  integrationId: string;
  direction: ExchangeDirection;
  contractId: string | null;
  format: string | null;
  idempotencyKey: string | null;
  correlationId: string;
  error: AppError;
}

/**
 * Data exchange of integrations: pull, push (processed by the `exchange.push` job) and the
 * exchange logs (docs/decisions/0030-data-exchange.md).
 */
export function createExchangeService(deps: ExchangeDeps) {
  const { db, jobs, tokens, clientCache } = deps;
  const pulls = createPullService(db, { clientCache, nudge: () => jobs.nudge(), reads: deps.reads });
  const pushes = createPushService(db, { maxRecords: deps.maxRecords, nudge: () => jobs.nudge() });
  const pushJob = createPushJob({ db, persons: deps.persons, clientCache });
  jobs.register(PUSH_JOB, (job) => pushJob.run(job));
  jobs.register(PULL_FILE_JOB, (job) => pulls.runFile(job));
  jobs.addPeriodic('exchange.outputs-retention', OUTPUT_SWEEP_INTERVAL_MS, () => pulls.purgeExpired());

  /** Exchange logs are read by integration managers (integrations:read) and by the integration itself. */
  function assertMayRead(actor: Actor, integrationId: string): void {
    if (hasScope(actor.principal, 'integrations:read')) return;
    if (actor.principal.integrationId === integrationId) return;
    throw forbidden('reading exchange logs needs integrations:read, or must be the integration’s own client');
  }

  return {
    pull: pulls.pull,
    /** A file pull's output (docs/decisions/0032-exchange-file-output.md). */
    output: pulls.output,
    purgeExpiredOutputs: pulls.purgeExpired,
    push: pushes.push,
    async list(actor: Actor, integrationId: string, query: ExchangeListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, async (tx) => {
        if (!(await repo.findIntegration(tx, tenantId, integrationId))) throw notFound('integration');
        assertMayRead(actor, integrationId);
        return xrepo.listExchanges(tx, {
          tenantId,
          integrationId,
          status: query.status,
          direction: query.direction,
          since: query.since,
          afterId: decodeIdCursor(query.cursor),
          limit: query.limit,
        });
      });
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      return { data: page.data.map(xrepo.toExchange), next_cursor: page.next_cursor };
    },

    /** One exchange with a page of its per-record results (pushes). */
    async get(actor: Actor, integrationId: string, exchangeId: string, query: ExchangeDetailQuery) {
      const tenantId = requireTenant(actor);
      const limit = query.results_limit ?? 100;
      const after = decodeCursor(query.results_cursor, 1);
      if (after && (typeof after[0] !== 'number' || !Number.isInteger(after[0]))) {
        throw new AppError('ERR_VAL_INVALID_FORMAT', 'results_cursor is not a cursor this server issued', {
          status: 400,
          errors: [{ field: 'results_cursor', message: 'invalid cursor' }],
        });
      }
      const afterNo = after ? (after[0] as number) : 0;
      return tenantTx(db, actor, async (tx) => {
        if (!(await repo.findIntegration(tx, tenantId, integrationId))) throw notFound('integration');
        assertMayRead(actor, integrationId);
        const row = await xrepo.findExchange(tx, tenantId, integrationId, exchangeId);
        if (!row) throw notFound('exchange');
        const results = await xrepo.listRecordResults(tx, {
          tenantId,
          exchangeId,
          outcome: query.outcome,
          afterNo,
          limit,
        });
        const data = results.slice(0, limit);
        const next = results.length > limit ? encodeCursor([data[data.length - 1].record]) : null;
        return { ...xrepo.toExchange(row), results: { data, next_cursor: next } };
      });
    },

    /**
     * Logs a push or pull refused before the service ran. The caller is known from its actor,
     * or, when its token was refused (a suspended integration's client), from the token's
     * verified claims: only the integration's own client leaves a row then, never an anonymous
     * caller. Another tenant's integration is never logged.
     */
    async logEarlyRefusal(r: EarlyRefusal): Promise<void> {
      let tenantId = r.actor?.tenantId ?? null;
      let clientId = r.actor?.principal.clientId ?? null;
      if (!r.actor) {
        if (!r.bearer) return;
        try {
          const claims = await tokens.verify(r.bearer);
          const client = await clientCache.get(claims.sub);
          if (!client || client.integrationId !== r.integrationId || !client.tenantId) return;
          tenantId = client.tenantId;
          clientId = client.clientId;
        } catch {
          return;
        }
      }
      if (!tenantId || r.error.code === 'ERR_NOT_FOUND') return;
      await logRefusal(db, {
        tenantId,
        integrationId: r.integrationId,
        direction: r.direction,
        clientId,
        correlationId: r.correlationId,
        contractId: r.contractId,
        format: (r.format as ExchangeFormat | null) ?? null,
        idempotencyKey: r.idempotencyKey,
        error: r.error,
      }).catch(() => undefined);
    },
  };
}

export type ExchangeService = ReturnType<typeof createExchangeService>;
