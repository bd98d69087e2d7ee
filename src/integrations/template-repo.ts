import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { ContractTemplate, PartnerType, Template, TemplateStatus } from './schemas.js';

export interface TemplateRow {
  id: string;
  template_name: string;
  partner_type: PartnerType;
  vertical_codes: string[];
  contract_template: ContractTemplate;
  status: TemplateStatus;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toTemplate(r: TemplateRow): Template {
  return {
    template_id: r.id,
    template_name: r.template_name,
    partner_type: r.partner_type,
    vertical_ids: r.vertical_codes,
    contract_template: r.contract_template,
    status: r.status,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export async function insertTemplate(
  q: Queryable,
  t: {
    id: string;
    name: string;
    partnerType: PartnerType;
    verticalCodes: readonly string[];
    contractTemplate: ContractTemplate;
    createdBy: string;
  },
): Promise<TemplateRow> {
  const { rows } = await q.query<TemplateRow>(
    `INSERT INTO integration_templates (id, template_name, partner_type, vertical_codes, contract_template, created_by)
     VALUES ($1, $2, $3, $4::text[], $5::jsonb, $6) RETURNING *`,
    [t.id, t.name, t.partnerType, t.verticalCodes, JSON.stringify(t.contractTemplate), t.createdBy],
  );
  return rows[0];
}

export async function findTemplate(q: Queryable, id: string): Promise<TemplateRow | null> {
  const { rows } = await q.query<TemplateRow>('SELECT * FROM integration_templates WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function listTemplates(
  q: Queryable,
  f: { partnerType?: string; status?: string; afterId: string | null; limit: number },
): Promise<TemplateRow[]> {
  const { rows } = await q.query<TemplateRow>(
    `SELECT * FROM integration_templates
      WHERE ($1::text IS NULL OR partner_type = $1) AND ($2::text IS NULL OR status = $2) AND id > $3
      ORDER BY id LIMIT $4`,
    [f.partnerType ?? null, f.status ?? null, f.afterId ?? NIL_UUID, f.limit + 1],
  );
  return rows;
}
