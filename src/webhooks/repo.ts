import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { Webhook, WebhookStatus } from './schemas.js';
import type { PublicJwk } from './signing.js';

export interface WebhookRow {
  tenant_id: string;
  id: string;
  integration_id: string;
  contract_id: string | null;
  target_url: string;
  event_types: string[];
  active_from: Date;
  active_until: Date | null;
  status: WebhookStatus;
  public_key_id: string;
  rotated_at: Date | null;
  disabled_at: Date | null;
  disabled_by: string | null;
  disable_reason_code: string | null;
  disable_reason_text: string | null;
  version_id: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toWebhook(r: WebhookRow): Webhook {
  return {
    webhook_id: r.id,
    integration_id: r.integration_id,
    contract_id: r.contract_id,
    target_url: r.target_url,
    event_types: r.event_types,
    active_from: r.active_from.toISOString(),
    active_until: iso(r.active_until),
    status: r.status,
    public_key_id: r.public_key_id,
    rotated_at: iso(r.rotated_at),
    disabled_at: iso(r.disabled_at),
    disable_reason_code: r.disable_reason_code,
    version_id: r.version_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export interface NewWebhook {
  tenantId: string;
  id: string;
  integrationId: string;
  contractId: string | null;
  targetUrl: string;
  eventTypes: readonly string[];
  activeFrom: string;
  activeUntil: string | null;
  publicKeyId: string;
  createdBy: string;
}

export async function insertWebhook(q: Queryable, w: NewWebhook): Promise<WebhookRow> {
  const { rows } = await q.query<WebhookRow>(
    `INSERT INTO webhooks (tenant_id, id, integration_id, contract_id, target_url, event_types, active_from,
       active_until, public_key_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9, $10)
     RETURNING *`,
    [
      w.tenantId,
      w.id,
      w.integrationId,
      w.contractId,
      w.targetUrl,
      w.eventTypes,
      w.activeFrom,
      w.activeUntil,
      w.publicKeyId,
      w.createdBy,
    ],
  );
  return rows[0];
}

export async function findWebhook(
  q: Queryable,
  tenantId: string,
  integrationId: string,
  id: string,
  forUpdate = false,
): Promise<WebhookRow | null> {
  const { rows } = await q.query<WebhookRow>(
    `SELECT * FROM webhooks WHERE tenant_id = $1 AND integration_id = $2 AND id = $3${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, integrationId, id],
  );
  return rows[0] ?? null;
}

export async function listWebhooks(
  q: Queryable,
  f: { tenantId: string; integrationId: string; status?: string; afterId: string | null; limit: number },
): Promise<WebhookRow[]> {
  const { rows } = await q.query<WebhookRow>(
    `SELECT * FROM webhooks
      WHERE tenant_id = $1 AND integration_id = $2 AND ($3::text IS NULL OR status = $3) AND id > $4
      ORDER BY id LIMIT $5`,
    [f.tenantId, f.integrationId, f.status ?? null, f.afterId ?? NIL_UUID, f.limit + 1],
  );
  return rows;
}

export type WebhookSet = Partial<{
  target_url: string;
  event_types: readonly string[];
  active_until: string | null;
  contract_id: string | null;
  public_key_id: string;
  rotated: true;
  disabled: { by: string; reasonCode: string; reasonText: string | null };
}>;

/** Applies a change, bumps version_id and updated_at; returns the new row. */
export async function updateWebhook(
  q: Queryable,
  tenantId: string,
  id: string,
  set: WebhookSet,
): Promise<WebhookRow> {
  const params: unknown[] = [tenantId, id];
  const assign: string[] = [];
  const put = (column: string, value: unknown, cast = '') => {
    params.push(value);
    assign.push(`${column} = $${params.length}${cast}`);
  };
  if (set.target_url !== undefined) put('target_url', set.target_url);
  if (set.event_types !== undefined) put('event_types', set.event_types, '::text[]');
  if (set.active_until !== undefined) put('active_until', set.active_until, '::timestamptz');
  if (set.contract_id !== undefined) put('contract_id', set.contract_id, '::uuid');
  if (set.public_key_id !== undefined) put('public_key_id', set.public_key_id);
  if (set.rotated) assign.push('rotated_at = now()');
  if (set.disabled) {
    assign.push(`status = 'disabled'`, 'disabled_at = now()');
    put('disabled_by', set.disabled.by);
    put('disable_reason_code', set.disabled.reasonCode);
    put('disable_reason_text', set.disabled.reasonText);
  }
  const { rows } = await q.query<WebhookRow>(
    `UPDATE webhooks SET ${[...assign, 'version_id = version_id + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    params,
  );
  return rows[0];
}

// ---- signing keys ----

export async function insertKey(
  q: Queryable,
  k: {
    tenantId: string;
    webhookId: string;
    publicKeyId: string;
    publicJwk: PublicJwk;
    storedPrivateKey: string;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO webhook_keys (tenant_id, public_key_id, webhook_id, public_jwk, private_key)
     VALUES ($1, $2, $3, $4, $5)`,
    [k.tenantId, k.publicKeyId, k.webhookId, JSON.stringify(k.publicJwk), k.storedPrivateKey],
  );
}

/**
 * Retires the webhook's current key(s): they stop being the signing key and stay published (and
 * co-sign) until now + overlap. Returns the retired key ids with their end of publication.
 */
export async function retireKeys(
  q: Queryable,
  tenantId: string,
  webhookId: string,
  overlapSeconds: number,
): Promise<{ public_key_id: string; expires_at: Date }[]> {
  const { rows } = await q.query<{ public_key_id: string; expires_at: Date }>(
    `UPDATE webhook_keys SET retired_at = now(), expires_at = now() + make_interval(secs => $3)
      WHERE tenant_id = $1 AND webhook_id = $2 AND retired_at IS NULL
      RETURNING public_key_id, expires_at`,
    [tenantId, webhookId, overlapSeconds],
  );
  return rows;
}

/** Ends publication (and co-signing) of every key of the webhook retired before now. */
export async function expireRetiredKeys(q: Queryable, tenantId: string, webhookId: string): Promise<void> {
  await q.query(
    `UPDATE webhook_keys SET expires_at = now()
      WHERE tenant_id = $1 AND webhook_id = $2 AND retired_at IS NOT NULL AND expires_at > now()`,
    [tenantId, webhookId],
  );
}

/** Published keys: current ones and retired ones still inside their overlap. No tenant needed. */
export async function publishedKeys(q: Queryable, publicKeyId?: string): Promise<PublicJwk[]> {
  const { rows } = await q.query<{ public_jwk: PublicJwk }>(
    `SELECT public_jwk FROM webhook_keys
      WHERE (expires_at IS NULL OR expires_at > now()) AND ($1::text IS NULL OR public_key_id = $1)
      ORDER BY created_at, public_key_id`,
    [publicKeyId ?? null],
  );
  return rows.map((r) => r.public_jwk);
}

/**
 * The keys that sign a webhook's deliveries now, newest first: the current key and retired keys
 * still inside their overlap. Reads private keys: only outside tenant transactions (system).
 */
export async function signingKeys(
  q: Queryable,
  tenantId: string,
  webhookId: string,
): Promise<{ public_key_id: string; private_key: string }[]> {
  const { rows } = await q.query<{ public_key_id: string; private_key: string }>(
    `SELECT public_key_id, private_key FROM webhook_keys
      WHERE tenant_id = $1 AND webhook_id = $2 AND (expires_at IS NULL OR expires_at > now())
      ORDER BY created_at DESC, public_key_id`,
    [tenantId, webhookId],
  );
  return rows;
}

/** Active webhooks whose current key is older than `days` (automatic rotation). */
export async function webhooksWithOldKeys(
  q: Queryable,
  days: number,
  limit: number,
): Promise<{ tenant_id: string; integration_id: string; id: string }[]> {
  const { rows } = await q.query<{ tenant_id: string; integration_id: string; id: string }>(
    `SELECT w.tenant_id, w.integration_id, w.id FROM webhooks w
       JOIN webhook_keys k ON k.tenant_id = w.tenant_id AND k.public_key_id = w.public_key_id
      WHERE w.status = 'active' AND k.created_at < now() - make_interval(days => $1)
      ORDER BY k.created_at LIMIT $2`,
    [days, limit],
  );
  return rows;
}
