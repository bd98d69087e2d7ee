import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { findTenant } from '../tenancy/repo.js';
import type * as crepo from './contract-repo.js';
import { checkConsentVerticals, checkContractContent } from './contract-rules.js';
import type { DraftContract } from './contract-service.js';
import * as repo from './repo.js';
import type {
  InstantiateBody,
  Instantiated,
  Template,
  TemplateCreate,
  TemplateListQuery,
} from './schemas.js';
import * as trepo from './template-repo.js';

export interface TemplateDeps {
  createIntegration: (
    tx: Tx,
    actor: Actor,
    tenantId: string,
    input: {
      integration_name: string;
      partner_name: string;
      partner_type: TemplateCreate['partner_type'];
      vertical_ids: readonly string[];
      active_from: string;
    },
    templateId: string | null,
  ) => Promise<repo.IntegrationRow>;
  createContract: (
    tx: Tx,
    actor: Actor,
    integration: repo.IntegrationRow,
    input: DraftContract,
  ) => Promise<crepo.ContractRow>;
}

function missingCodes(field: string, codes: string[]): AppError {
  const message = `the tenant has no vertical with code ${codes.join(', ')}`;
  return new AppError('ERR_VAL_RULE_VIOLATION', `${field}: ${message}`, { errors: [{ field, message }] });
}

/**
 * The shared registry of integration templates. Templates are global reference data managed by
 * ROOT; they name verticals by CODE, and instantiation maps the codes to the target tenant's
 * vertical ids (docs/decisions/0031-integration-lifecycle.md).
 */
export function createTemplateService(db: Database, deps: TemplateDeps) {
  return {
    async list(actor: Actor, query: TemplateListQuery & { limit: number }) {
      const rows = await tenantTx(db, actor, (tx) =>
        trepo.listTemplates(tx, {
          partnerType: query.partner_type,
          status: query.status,
          afterId: decodeIdCursor(query.cursor),
          limit: query.limit,
        }),
      );
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      return { data: page.data.map(trepo.toTemplate), next_cursor: page.next_cursor };
    },

    async create(actor: Actor, input: TemplateCreate): Promise<Template> {
      if (!actor.principal.isRoot) throw forbidden('only ROOT manages integration templates');
      const ct = input.contract_template;
      checkContractContent(ct, 'contract_template.');
      if (ct.consent_requirements) {
        checkConsentVerticals(
          ct.consent_requirements.vertical_ids,
          input.vertical_ids,
          'contract_template.consent_requirements.vertical_ids',
        );
      }
      // Global data: written outside any tenant (the application role may not write templates).
      const global = { ...actor, tenantId: null };
      try {
        const row = await db.transaction(async (tx) => {
          const t = await trepo.insertTemplate(tx, {
            id: uuidv7(),
            name: input.template_name,
            partnerType: input.partner_type,
            verticalCodes: input.vertical_ids,
            contractTemplate: ct,
            createdBy: actor.principal.clientId,
          });
          await recordAudit(
            tx,
            global,
            auditOf(global, 'integration_template.create', { type: 'integration_template', id: t.id }),
          );
          return t;
        });
        return trepo.toTemplate(row);
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) {
          throw conflict('a template with this template_name already exists', 'template_name');
        }
        throw err;
      }
    },

    /**
     * A draft integration (and a draft contract from the template's contract_template) in one
     * tenant: ROOT for any tenant, a tenant admin for its own only (another tenant answers 404).
     */
    async instantiate(actor: Actor, templateId: string, input: InstantiateBody): Promise<Instantiated> {
      const tenantId = input.tenant_id.toLowerCase();
      if (!actor.principal.isRoot && tenantId !== actor.tenantId) throw notFound('tenant');
      const scoped: Actor = { ...actor, tenantId };
      try {
        return await db.transaction(
          async (tx) => {
            if (!(await findTenant(tx, tenantId))) throw notFound('tenant');
            const template = await trepo.findTemplate(tx, templateId);
            if (!template) throw notFound('integration template');
            if (template.status !== 'active') {
              throw stateConflict('integration template', template.status, 'instantiate');
            }
            const byCode = await repo.verticalIdsByCode(tx, tenantId);
            const idsOf = (codes: readonly string[], field: string): string[] => {
              const missing = codes.filter((c) => !byCode.has(c));
              if (missing.length > 0) throw missingCodes(field, missing);
              return codes.map((c) => byCode.get(c)!);
            };
            const verticalIds = input.vertical_ids ?? idsOf(template.vertical_codes, 'vertical_ids');
            const ct = template.contract_template;
            const consent = ct.consent_requirements
              ? idsOf(
                  ct.consent_requirements.vertical_ids,
                  'contract_template.consent_requirements.vertical_ids',
                )
              : verticalIds;
            checkConsentVerticals(consent, verticalIds, 'vertical_ids');
            const integration = await deps.createIntegration(
              tx,
              scoped,
              tenantId,
              {
                integration_name: input.integration_name,
                partner_name: input.partner_name,
                partner_type: template.partner_type,
                vertical_ids: verticalIds,
                active_from: new Date().toISOString(),
              },
              template.id,
            );
            const contract = await deps.createContract(tx, scoped, integration, {
              purpose: ct.purpose,
              data_categories: ct.data_categories,
              field_list: ct.field_list,
              consent_vertical_ids: consent,
              active_from: repo.NOW,
              template_id: template.id,
            });
            return { ...repo.toIntegration(integration), contract_id: contract.id };
          },
          { tenantId },
        );
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) {
          throw conflict(
            'another integration of this tenant already has this integration_name',
            'integration_name',
          );
        }
        throw err;
      }
    },
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;
