import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import * as crepo from './contract-repo.js';
import { checkConsentVerticals, checkContractContent, checkWindow, rule } from './contract-rules.js';
import { assertWritable, RESOURCE } from './lifecycle.js';
import * as repo from './repo.js';
import type {
  Contract,
  ContractCreate,
  ContractListQuery,
  ContractPatch,
  IntegrationVersion,
  ReasonBody,
} from './schemas.js';

const CONTRACT = 'data contract';

/** A draft contract to insert (from the API or from a template). */
export interface DraftContract {
  purpose: string;
  data_categories: readonly string[];
  field_list: readonly string[];
  consent_vertical_ids: readonly string[];
  /** NOW: the transaction's time (template instances). */
  active_from: string | typeof repo.NOW;
  active_until?: string | null;
  template_id?: string | null;
}

type ContractIntegration = Pick<repo.IntegrationRow, 'tenant_id' | 'id' | 'vertical_ids' | 'status'>;

function pick(row: crepo.ContractRow, fields: readonly string[]): Record<string, unknown> {
  const record = row as unknown as Record<string, unknown>;
  return Object.fromEntries(fields.map((f) => [f, record[f] ?? null]));
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

export function createContractService(db: Database) {
  /** The contract's integration, locked: contract changes serialise with integration changes. */
  async function integrationOf(
    tx: Tx,
    tenantId: string,
    integrationId: string,
  ): Promise<repo.IntegrationRow> {
    const integration = await repo.findIntegration(tx, tenantId, integrationId, true);
    if (!integration) throw notFound('integration');
    return integration;
  }

  async function contractOf(tx: Tx, tenantId: string, integrationId: string, contractId: string) {
    const contract = await crepo.findContract(tx, tenantId, integrationId, contractId, true);
    if (!contract) throw notFound('contract');
    return contract;
  }

  /** New contracts and activations need a live integration: not archived, not deprecated. */
  function assertAcceptsContracts(integration: ContractIntegration, action: string): void {
    assertWritable(integration.status, action);
    if (integration.status === 'deprecated') throw stateConflict(RESOURCE, integration.status, action);
  }

  async function audit(tx: Tx, actor: Actor, action: string, contract: crepo.ContractRow, details = {}) {
    await recordAudit(
      tx,
      actor,
      auditOf(
        { ...actor, tenantId: contract.tenant_id },
        `integration_contract.${action}`,
        {
          type: 'integration_contract',
          id: contract.id,
        },
        { details: { integration_id: contract.integration_id, ...details } },
      ),
    );
  }

  async function createIn(
    tx: Tx,
    actor: Actor,
    integration: ContractIntegration,
    input: DraftContract,
  ): Promise<crepo.ContractRow> {
    checkContractContent(input);
    checkConsentVerticals(input.consent_vertical_ids, integration.vertical_ids);
    if (input.active_from !== repo.NOW) checkWindow(input.active_from, input.active_until);
    const row = await crepo.insertContract(tx, {
      tenantId: integration.tenant_id,
      id: uuidv7(),
      integrationId: integration.id,
      purpose: input.purpose,
      dataCategories: input.data_categories,
      fieldList: input.field_list,
      consentVerticalIds: input.consent_vertical_ids,
      activeFrom: input.active_from,
      activeUntil: input.active_until ?? null,
      templateId: input.template_id ?? null,
      createdBy: actor.principal.clientId,
    });
    const fields = [
      'purpose',
      'data_categories',
      'field_list',
      'consent_requirements',
      'active_from',
      'active_until',
    ];
    await repo.insertVersion(tx, 'integration_contract_versions', actor, row.tenant_id, row.id, {
      versionId: row.version_id,
      change: 'create',
      fields: [...fields, 'status'],
      newValues: pick(row, [...fields, 'status']),
      statusTo: row.status,
    });
    await audit(tx, actor, 'create', row, { template_id: row.template_id });
    return row;
  }

  /** A status change of a locked contract, with its version row and audit event. */
  async function changeStatus(
    tx: Tx,
    actor: Actor,
    current: crepo.ContractRow,
    action: 'activate' | 'archive',
    set: crepo.ContractSet,
    reason: { code: string | null; text: string | null } = { code: null, text: null },
  ): Promise<crepo.ContractRow> {
    const to = action === 'activate' ? 'active' : 'archived';
    const updated = await crepo.updateContract(tx, current.tenant_id, current.id, { ...set, status: to });
    const fields = [...Object.keys(set), 'status'];
    await repo.insertVersion(tx, 'integration_contract_versions', actor, current.tenant_id, current.id, {
      versionId: updated.version_id,
      change: action,
      fields,
      oldValues: pick(current, fields),
      newValues: pick(updated, fields),
      statusFrom: current.status,
      statusTo: to,
      reasonCode: reason.code,
      reasonText: reason.text,
    });
    await audit(tx, actor, action, updated, { from: current.status, to, reason_code: reason.code });
    return updated;
  }

  return {
    createIn,

    /** Contracts of an integration that are not archived (locked). */
    openOf: (tx: Tx, tenantId: string, integrationId: string) =>
      crepo.openContracts(tx, tenantId, integrationId),

    /** Archives every open contract of an integration that is being archived. */
    async archiveOpenIn(
      tx: Tx,
      actor: Actor,
      tenantId: string,
      integrationId: string,
      reason: { reason_code: string; reason_text?: string },
    ): Promise<void> {
      for (const c of await crepo.openContracts(tx, tenantId, integrationId)) {
        await changeStatus(
          tx,
          actor,
          c,
          'archive',
          {
            archived_at: repo.NOW,
            archived_by: actor.principal.clientId,
            reason_code: reason.reason_code,
            reason_text: reason.reason_text ?? null,
          },
          { code: reason.reason_code, text: reason.reason_text ?? null },
        );
      }
    },

    async create(actor: Actor, integrationId: string, input: ContractCreate): Promise<Contract> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId);
        assertAcceptsContracts(integration, 'add a contract to');
        return createIn(tx, actor, integration, {
          ...input,
          consent_vertical_ids: input.consent_requirements.vertical_ids,
        });
      });
      return crepo.toContract(row);
    },

    async list(actor: Actor, integrationId: string, query: ContractListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, async (tx) => {
        if (!(await repo.findIntegration(tx, tenantId, integrationId))) throw notFound('integration');
        return crepo.listContracts(tx, {
          tenantId,
          integrationId,
          status: query.status,
          afterId: decodeIdCursor(query.cursor),
          limit: query.limit,
        });
      });
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      const now = new Date();
      return { data: page.data.map((r) => crepo.toContract(r, now)), next_cursor: page.next_cursor };
    },

    async get(actor: Actor, integrationId: string, contractId: string): Promise<Contract> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, (tx) =>
        crepo.findContract(tx, tenantId, integrationId, contractId),
      );
      if (!row) throw notFound('contract');
      return crepo.toContract(row);
    },

    async versions(actor: Actor, integrationId: string, contractId: string): Promise<IntegrationVersion[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        if (!(await crepo.findContract(tx, tenantId, integrationId, contractId))) throw notFound('contract');
        return repo.listVersions(tx, 'integration_contract_versions', tenantId, contractId);
      });
    },

    /** Only a draft contract changes; each change is a new version. */
    async patch(
      actor: Actor,
      integrationId: string,
      contractId: string,
      input: ContractPatch,
    ): Promise<Contract> {
      const tenantId = requireTenant(actor);
      if (Object.keys(input).length === 0) {
        throw new AppError('ERR_VAL_MISSING_FIELD', 'nothing to change: give at least one field', {
          errors: [{ field: '(root)', message: 'at least one field is required' }],
        });
      }
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId);
        const current = await contractOf(tx, tenantId, integrationId, contractId);
        assertWritable(integration.status, 'change a contract of');
        if (current.status !== 'draft') throw stateConflict(CONTRACT, current.status, 'update');
        const next = {
          data_categories: input.data_categories ?? current.data_categories,
          field_list: input.field_list ?? current.field_list,
        };
        checkContractContent(next);
        const consent = input.consent_requirements?.vertical_ids ?? current.consent_requirements.vertical_ids;
        checkConsentVerticals(consent, integration.vertical_ids);
        const until = input.active_until === undefined ? current.active_until : input.active_until;
        checkWindow(current.active_from, until);

        const set: crepo.ContractSet = {};
        if (input.purpose !== undefined && input.purpose !== current.purpose) set.purpose = input.purpose;
        if (!sameList(next.data_categories, current.data_categories))
          set.data_categories = next.data_categories;
        if (!sameList(next.field_list, current.field_list)) set.field_list = next.field_list;
        if (!sameList(consent, current.consent_requirements.vertical_ids))
          set.consent_requirements = JSON.stringify({ vertical_ids: consent });
        const untilMs = until === null ? null : new Date(until).getTime();
        if (untilMs !== (current.active_until?.getTime() ?? null))
          set.active_until = until === null ? null : new Date(until).toISOString();
        const fields = Object.keys(set);
        if (fields.length === 0) return current;
        const updated = await crepo.updateContract(tx, tenantId, contractId, set);
        await repo.insertVersion(tx, 'integration_contract_versions', actor, tenantId, contractId, {
          versionId: updated.version_id,
          change: 'update',
          fields,
          oldValues: pick(current, fields),
          newValues: pick(updated, fields),
        });
        await audit(tx, actor, 'update', updated, { fields });
        return updated;
      });
      return crepo.toContract(row);
    },

    async activate(actor: Actor, integrationId: string, contractId: string): Promise<Contract> {
      const tenantId = requireTenant(actor);
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId);
        const current = await contractOf(tx, tenantId, integrationId, contractId);
        assertAcceptsContracts(integration, 'activate a contract of');
        if (current.status !== 'draft') throw stateConflict(CONTRACT, current.status, 'activate');
        if (current.active_until && current.active_until.getTime() <= Date.now()) {
          throw rule('active_until', 'the contract’s window has already ended');
        }
        checkConsentVerticals(current.consent_requirements.vertical_ids, integration.vertical_ids);
        return changeStatus(tx, actor, current, 'activate', {
          activated_at: repo.NOW,
          activated_by: actor.principal.clientId,
        });
      });
      return crepo.toContract(row);
    },

    async archive(
      actor: Actor,
      integrationId: string,
      contractId: string,
      body: ReasonBody,
    ): Promise<Contract> {
      const tenantId = requireTenant(actor);
      checkReason(body.reason_code, body.reason_text);
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId);
        const current = await contractOf(tx, tenantId, integrationId, contractId);
        assertWritable(integration.status, 'archive a contract of');
        if (current.status === 'archived') throw stateConflict(CONTRACT, current.status, 'archive');
        return changeStatus(
          tx,
          actor,
          current,
          'archive',
          {
            archived_at: repo.NOW,
            archived_by: actor.principal.clientId,
            reason_code: body.reason_code,
            reason_text: body.reason_text ?? null,
          },
          { code: body.reason_code, text: body.reason_text ?? null },
        );
      });
      return crepo.toContract(row);
    },

    /** A contract of the integration, for the exchange layer (in its transaction); null when absent. */
    async findIn(
      tx: Tx,
      tenantId: string,
      integrationId: string,
      contractId: string,
    ): Promise<Contract | null> {
      const row = await crepo.findContract(tx, tenantId, integrationId, contractId);
      return row ? crepo.toContract(row) : null;
    },

    /**
     * The contract an exchange names: it must belong to the integration (404 otherwise) and be in
     * force now (409 ERR_STATE_CONFLICT with its status otherwise).
     */
    async loadInForce(
      tx: Tx,
      tenantId: string,
      integrationId: string,
      contractId: string,
      now: Date = new Date(),
    ): Promise<Contract> {
      const row = await crepo.findContract(tx, tenantId, integrationId, contractId);
      if (!row) throw notFound('contract');
      const contract = crepo.toContract(row, now);
      if (!contract.in_force) {
        const why = row.status === 'active' ? 'is outside its active window' : `is ${row.status}`;
        throw new AppError('ERR_STATE_CONFLICT', `contract ${contractId} is not in force: it ${why}`, {
          extra: { current_status: row.status },
        });
      }
      return contract;
    },
  };
}

export type ContractService = ReturnType<typeof createContractService>;
