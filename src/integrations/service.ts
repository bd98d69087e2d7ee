import { auditOf, recordAudit } from '../audit/audit.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { Actor } from '../auth/principal.js';
import { setActive as setClientActive, setRateLimit as setClientRateLimit } from '../clients/repo.js';
import type { ClientService } from '../clients/service.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, conflict, forbidden, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import type { VerticalService } from '../tenancy/service.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import { checkConsentVerticals, checkWindow, rule } from './contract-rules.js';
import { createContractService } from './contract-service.js';
import {
  assertIntegrationCanExchange,
  assertWritable,
  type LifecycleAction,
  nextStatus,
  RESOURCE,
} from './lifecycle.js';
import * as repo from './repo.js';
import type {
  ActivateBody,
  ApproveBody,
  Integration,
  IntegrationActivated,
  IntegrationCreate,
  IntegrationListQuery,
  IntegrationPatch,
  IntegrationStatus,
  IntegrationVersion,
  PartnerType,
  ReasonBody,
  RequestReviewBody,
  ReviewBody,
} from './schemas.js';
import { createTemplateService } from './template-service.js';

/** The scopes an integration's own client holds (the `integration` role's). */
export const INTEGRATION_CLIENT_SCOPES = ['exchange:push', 'exchange:pull', 'dci:search'] as const;

export interface IntegrationDeps {
  clients: ClientService;
  clientCache: ClientCache;
  verticals: VerticalService;
}

/** What creating an integration needs, from the API or from a template. */
export interface DraftIntegration {
  integration_name: string;
  partner_name: string;
  partner_type: PartnerType;
  vertical_ids: readonly string[];
  active_from: string;
  active_until?: string | null;
  data_contract_ref?: string | null;
}

interface Plan {
  set: repo.IntegrationSet;
  reasonCode?: string | null;
  reasonText?: string | null;
  /** Extra work in the transaction (issuing the client, archiving contracts). */
  apply?: (tx: Tx, current: repo.IntegrationRow) => Promise<repo.IntegrationSet | undefined>;
  /** More for the audit event's details (what the step changed beyond the integration row). */
  details?: Record<string, unknown>;
}

const time = (v: Date | string | null | undefined): number | null =>
  v === null || v === undefined ? null : new Date(v).getTime();

function pick(row: repo.IntegrationRow, fields: readonly string[]): Record<string, unknown> {
  const record = row as unknown as Record<string, unknown>;
  return Object.fromEntries(fields.map((f) => [f, record[f] ?? null]));
}

function uniqueName(err: unknown): never {
  if (isPgError(err) && err.code === PgCode.uniqueViolation) {
    throw conflict(
      'another integration of this tenant already has this integration_name',
      'integration_name',
    );
  }
  throw err;
}

export function createIntegrationService(db: Database, deps: IntegrationDeps) {
  const { clients, clientCache, verticals } = deps;
  const contracts = createContractService(db);

  /** Inserts a draft integration with its first version row and audit event, in `tx`. */
  async function createIn(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    input: DraftIntegration,
    templateId: string | null = null,
  ): Promise<repo.IntegrationRow> {
    checkWindow(input.active_from, input.active_until);
    await verticals.assertExist(tx, tenantId, input.vertical_ids);
    const row = await repo.insertIntegration(tx, {
      tenantId,
      id: uuidv7(),
      integrationName: input.integration_name,
      partnerName: input.partner_name,
      partnerType: input.partner_type,
      verticalIds: input.vertical_ids,
      activeFrom: input.active_from,
      activeUntil: input.active_until ?? null,
      dataContractRef: input.data_contract_ref ?? null,
      templateId,
      createdBy: actor.principal.clientId,
    });
    const fields = [
      'integration_name',
      'partner_name',
      'partner_type',
      'vertical_ids',
      'active_from',
      'active_until',
      'data_contract_ref',
      'template_id',
      'status',
    ];
    await repo.insertVersion(tx, 'integration_versions', actor, tenantId, row.id, {
      versionId: row.version_id,
      change: 'create',
      fields,
      newValues: pick(row, fields),
      statusTo: row.status,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        { ...actor, tenantId },
        'integration.create',
        { type: 'integration', id: row.id },
        {
          details: { template_id: templateId },
        },
      ),
    );
    return row;
  }

  async function load(tx: Tx, tenantId: string, id: string, forUpdate = false): Promise<repo.IntegrationRow> {
    const row = await repo.findIntegration(tx, tenantId, id, forUpdate);
    if (!row) throw notFound('integration');
    return row;
  }

  /**
   * One lifecycle step: lock the row, check the transition, apply the plan, then write the version
   * row, the audit event and the outbox event in the same transaction. After the commit the
   * integration's client is dropped from every process's cache, so its live tokens see the new
   * status on their next call.
   */
  async function transition(
    actor: Actor,
    id: string,
    action: LifecycleAction,
    plan: (current: repo.IntegrationRow, to: IntegrationStatus) => Plan,
    decision?: 'reviewed' | 'returned',
  ): Promise<repo.IntegrationRow> {
    const tenantId = requireTenant(actor);
    const row = await tenantTx(db, actor, async (tx) => {
      const current = await load(tx, tenantId, id, true);
      const to = nextStatus(action, current.status, decision);
      const p = plan(current, to);
      const more = p.apply ? await p.apply(tx, current) : undefined;
      const set: repo.IntegrationSet = { ...p.set, ...more, status: to };
      const updated = await repo.updateIntegration(tx, tenantId, id, set);
      const fields = Object.keys(set);
      await repo.insertVersion(tx, 'integration_versions', actor, tenantId, id, {
        versionId: updated.version_id,
        change: action,
        fields,
        oldValues: pick(current, fields),
        newValues: pick(updated, fields),
        statusFrom: current.status,
        statusTo: to,
        reasonCode: p.reasonCode ?? null,
        reasonText: p.reasonText ?? null,
      });
      const verb = action === 'review' && to === 'draft' ? 'return' : action.replace('-', '_');
      await recordAudit(
        tx,
        actor,
        auditOf(
          actor,
          `integration.${verb}`,
          { type: 'integration', id },
          {
            details: { from: current.status, to, reason_code: p.reasonCode ?? null, ...p.details },
          },
        ),
      );
      await emitStatusChanged(tx, tenantId, id, current.status, to);
      return updated;
    });
    if (row.auth_client_id) await clientCache.invalidate(row.auth_client_id);
    return row;
  }

  function statusReason(body: ReasonBody): Plan {
    checkReason(body.reason_code, body.reason_text);
    return {
      set: { status_reason_code: body.reason_code, status_reason_text: body.reason_text ?? null },
      reasonCode: body.reason_code,
      reasonText: body.reason_text ?? null,
    };
  }

  const templates = createTemplateService(db, {
    createIntegration: createIn,
    createContract: contracts.createIn,
  });

  return {
    contracts,
    templates,
    assertIntegrationCanExchange,

    async create(actor: Actor, input: IntegrationCreate): Promise<Integration> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, (tx) => createIn(tx, actor, tenantId, input)).catch(uniqueName);
      return repo.toIntegration(row);
    },

    async list(actor: Actor, query: IntegrationListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, (tx) =>
        repo.listIntegrations(tx, {
          tenantId,
          status: query.status,
          partnerType: query.partner_type,
          verticalId: query.vertical_id,
          afterId: decodeIdCursor(query.cursor),
          limit: query.limit,
        }),
      );
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      return { data: page.data.map(repo.toIntegration), next_cursor: page.next_cursor };
    },

    async get(actor: Actor, id: string): Promise<Integration> {
      const tenantId = requireTenant(actor);
      return repo.toIntegration(await tenantTx(db, actor, (tx) => load(tx, tenantId, id)));
    },

    async versions(actor: Actor, id: string): Promise<IntegrationVersion[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        await load(tx, tenantId, id);
        return repo.listVersions(tx, 'integration_versions', tenantId, id);
      });
    },

    /**
     * Names change in every status but archived. Scope (vertical_ids, active_from) changes only
     * while draft: after a review it would bypass the review. Afterwards active_until may only be
     * brought forward (narrowing is always safe).
     */
    async patch(actor: Actor, id: string, input: IntegrationPatch): Promise<Integration> {
      const tenantId = requireTenant(actor);
      if (Object.keys(input).length === 0) {
        throw new AppError('ERR_VAL_MISSING_FIELD', 'nothing to change: give at least one field', {
          errors: [{ field: '(root)', message: 'at least one field is required' }],
        });
      }
      const row = await tenantTx(db, actor, async (tx) => {
        const current = await load(tx, tenantId, id, true);
        assertWritable(current.status, 'update');
        const set: repo.IntegrationSet = {};
        if (input.integration_name !== undefined && input.integration_name !== current.integration_name)
          set.integration_name = input.integration_name;
        if (input.partner_name !== undefined && input.partner_name !== current.partner_name)
          set.partner_name = input.partner_name;
        const sameVerticals =
          input.vertical_ids === undefined ||
          (input.vertical_ids.length === current.vertical_ids.length &&
            input.vertical_ids.every((v) => current.vertical_ids.includes(v)));
        if (!sameVerticals) set.vertical_ids = input.vertical_ids!;
        if (input.active_from !== undefined && time(input.active_from) !== time(current.active_from))
          set.active_from = input.active_from;
        if (input.active_until !== undefined && time(input.active_until) !== time(current.active_until))
          set.active_until = input.active_until;

        if (current.status !== 'draft') {
          for (const field of ['vertical_ids', 'active_from'] as const) {
            if (field in set) throw stateConflict(RESOURCE, current.status, `change ${field} of`);
          }
          if ('active_until' in set) {
            const next = time(input.active_until);
            const now = Date.now();
            const limit = time(current.active_until);
            if (next === null || (limit !== null && next > limit))
              throw stateConflict(RESOURCE, current.status, 'extend active_until of');
            if (next < now) throw rule('active_until', 'can only be brought forward to now or later');
          }
        }
        checkWindow(
          input.active_from ?? current.active_from,
          input.active_until === undefined ? current.active_until : input.active_until,
        );
        if (set.vertical_ids) {
          const wanted = input.vertical_ids!;
          await verticals.assertExist(tx, tenantId, wanted);
          for (const c of await contracts.openOf(tx, tenantId, id)) {
            checkConsentVerticals(c.consent_requirements.vertical_ids, wanted, 'vertical_ids');
          }
        }
        const fields = Object.keys(set);
        if (fields.length === 0) return current;
        const updated = await repo.updateIntegration(tx, tenantId, id, set);
        await repo.insertVersion(tx, 'integration_versions', actor, tenantId, id, {
          versionId: updated.version_id,
          change: 'update',
          fields,
          oldValues: pick(current, fields),
          newValues: pick(updated, fields),
        });
        await recordAudit(
          tx,
          actor,
          auditOf(actor, 'integration.update', { type: 'integration', id }, { details: { fields } }),
        );
        return updated;
      }).catch(uniqueName);
      return repo.toIntegration(row);
    },

    async requestReview(actor: Actor, id: string, body: RequestReviewBody): Promise<Integration> {
      checkReason(
        body.request_reason_code,
        body.request_reason_text,
        undefined,
        'request_reason_code',
        'request_reason_text',
      );
      const row = await transition(actor, id, 'request-review', () => ({
        set: {
          requested_at: repo.NOW,
          requested_by: actor.principal.clientId,
          request_reason_code: body.request_reason_code,
          request_reason_text: body.request_reason_text ?? null,
        },
        reasonCode: body.request_reason_code,
        reasonText: body.request_reason_text ?? null,
      }));
      return repo.toIntegration(row);
    },

    /** Review passes the integration on (reviewed) or sends it back to draft with notes (returned). */
    async review(actor: Actor, id: string, body: ReviewBody): Promise<Integration> {
      const decision = body.decision === 'returned' ? 'returned' : 'reviewed';
      if (decision === 'returned' && !body.review_notes?.trim()) {
        throw new AppError('ERR_VAL_MISSING_FIELD', 'review_notes is required when decision is returned', {
          errors: [{ field: 'review_notes', message: 'is required when decision is returned' }],
        });
      }
      const row = await transition(
        actor,
        id,
        'review',
        () => ({
          set: {
            reviewed_at: repo.NOW,
            reviewed_by: actor.principal.clientId,
            review_notes: body.review_notes ?? null,
            review_decision: decision,
          },
        }),
        decision,
      );
      return repo.toIntegration(row);
    },

    /** Separation of duties: whoever requested or reviewed cannot approve, ROOT included. */
    async approve(actor: Actor, id: string, body: ApproveBody): Promise<Integration> {
      checkReason(
        body.approval_reason_code,
        body.approval_reason_text,
        undefined,
        'approval_reason_code',
        'approval_reason_text',
      );
      const me = actor.principal.clientId;
      const row = await transition(actor, id, 'approve', (current) => {
        if (current.requested_by === me)
          throw forbidden('the client that requested the review cannot approve it');
        if (current.reviewed_by === me)
          throw forbidden('the client that reviewed the integration cannot approve it');
        return {
          set: {
            approved_at: repo.NOW,
            approved_by: me,
            approval_reason_code: body.approval_reason_code,
            approval_reason_text: body.approval_reason_text ?? null,
          },
          reasonCode: body.approval_reason_code,
          reasonText: body.approval_reason_text ?? null,
        };
      });
      return repo.toIntegration(row);
    },

    /**
     * Activation issues the integration's own client on the first activation (the secret is
     * returned this once) and reuses it, reactivated, afterwards.
     */
    async activate(actor: Actor, id: string, body: ActivateBody = {}): Promise<IntegrationActivated> {
      const limit = body.rate_limit_per_minute;
      let secret: string | undefined;
      const row = await transition(actor, id, 'activate', (current) => {
        const until = time(current.active_until);
        if (until !== null && until <= Date.now()) {
          throw rule('active_until', 'the integration’s window has ended; it cannot be activated');
        }
        return {
          set: { activated_at: repo.NOW },
          ...(limit !== undefined ? { details: { client_rate_limit_per_minute: limit } } : {}),
          apply: async (tx) => {
            if (current.auth_client_id) {
              await setClientActive(tx, current.auth_client_id, true);
              if (limit !== undefined) await setClientRateLimit(tx, current.auth_client_id, limit);
              return undefined;
            }
            const issued = await clients.createIn(tx, actor, {
              name: `Integration: ${current.integration_name}`.slice(0, 200),
              roles: ['integration'],
              scopes: [...INTEGRATION_CLIENT_SCOPES],
              tenant_id: current.tenant_id,
              vertical_ids: current.vertical_ids,
              source_system: current.partner_name,
              integration_id: current.id,
              ...(limit !== undefined ? { rate_limit_per_minute: limit } : {}),
            });
            secret = issued.secret;
            return { auth_client_id: issued.client.client_id };
          },
        };
      });
      const view: IntegrationActivated = repo.toIntegration(row);
      if (secret) view.client_secret = secret;
      return view;
    },

    async restrict(actor: Actor, id: string, body: ReasonBody): Promise<Integration> {
      const plan = statusReason(body);
      const row = await transition(actor, id, 'restrict', () => ({
        ...plan,
        set: { ...plan.set, restricted_at: repo.NOW },
      }));
      return repo.toIntegration(row);
    },

    async suspend(actor: Actor, id: string, body: ReasonBody): Promise<Integration> {
      const plan = statusReason(body);
      const row = await transition(actor, id, 'suspend', () => ({
        ...plan,
        set: { ...plan.set, suspended_at: repo.NOW },
      }));
      return repo.toIntegration(row);
    },

    async deprecate(actor: Actor, id: string, body: ReasonBody): Promise<Integration> {
      const plan = statusReason(body);
      const row = await transition(actor, id, 'deprecate', () => ({
        ...plan,
        set: { ...plan.set, deprecated_at: repo.NOW },
      }));
      return repo.toIntegration(row);
    },

    /** Archive is final: open contracts are archived with it and its client is deactivated. */
    async archive(actor: Actor, id: string, body: ReasonBody): Promise<Integration> {
      const plan = statusReason(body);
      const row = await transition(actor, id, 'archive', (current) => ({
        ...plan,
        set: { ...plan.set, archived_at: repo.NOW },
        apply: async (tx) => {
          await contracts.archiveOpenIn(tx, actor, current.tenant_id, current.id, {
            reason_code: body.reason_code,
            reason_text: body.reason_text,
          });
          if (current.auth_client_id) await setClientActive(tx, current.auth_client_id, false);
          return undefined;
        },
      }));
      return repo.toIntegration(row);
    },

    /** The integration as stored, for the exchange layer (in its transaction); null when absent. */
    async findIn(tx: Tx, tenantId: string, id: string): Promise<Integration | null> {
      const row = await repo.findIntegration(tx, tenantId, id);
      return row ? repo.toIntegration(row) : null;
    },
  };
}

async function emitStatusChanged(
  tx: Tx,
  tenantId: string,
  id: string,
  from: string,
  to: string,
): Promise<void> {
  await emitEvent(tx, tenantId, {
    type: 'integration.status_changed',
    resourceType: 'integration',
    resourceId: id,
    data: { from, to },
  });
}

export type IntegrationService = ReturnType<typeof createIntegrationService>;
