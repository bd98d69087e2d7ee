import type { Queryable } from '../../db/database.js';

/** Parameterised SQL of DCI senders and subscriptions (migration 0014). */

export interface SenderRow {
  tenant_id: string;
  client_id: string;
  sender_id: string;
  callback_url: string | null;
  signature_required: boolean;
  public_key_id: string | null;
  public_jwk: Record<string, unknown> | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
}

const SENDER_COLUMNS = `tenant_id, client_id, sender_id, callback_url, signature_required, public_key_id, public_jwk,
  version_id, created_at, updated_at`;

export async function findSender(
  q: Queryable,
  tenantId: string,
  clientId: string,
): Promise<SenderRow | null> {
  const { rows } = await q.query<SenderRow>(
    `SELECT ${SENDER_COLUMNS} FROM dci_senders WHERE tenant_id = $1 AND client_id = $2`,
    [tenantId, clientId],
  );
  return rows[0] ?? null;
}

export async function upsertSender(
  q: Queryable,
  s: {
    tenantId: string;
    clientId: string;
    senderId: string;
    callbackUrl: string | null;
    signatureRequired: boolean;
    publicKeyId: string | null;
    publicJwk: Record<string, unknown> | null;
    by: string;
  },
): Promise<SenderRow> {
  const { rows } = await q.query<SenderRow>(
    `INSERT INTO dci_senders (tenant_id, client_id, sender_id, callback_url, signature_required, public_key_id,
       public_jwk, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, client_id) DO UPDATE SET sender_id = EXCLUDED.sender_id,
       callback_url = EXCLUDED.callback_url, signature_required = EXCLUDED.signature_required,
       public_key_id = EXCLUDED.public_key_id, public_jwk = EXCLUDED.public_jwk,
       version_id = dci_senders.version_id + 1, updated_at = now()
     RETURNING ${SENDER_COLUMNS}`,
    [
      s.tenantId,
      s.clientId,
      s.senderId,
      s.callbackUrl,
      s.signatureRequired,
      s.publicKeyId,
      s.publicJwk === null ? null : JSON.stringify(s.publicJwk),
      s.by,
    ],
  );
  return rows[0];
}

export interface SubscriptionRow {
  tenant_id: string;
  id: string;
  code: string;
  client_id: string;
  sender_id: string;
  transaction_row: string;
  reference_id: string;
  event_type: string;
  filter_type: 'idtype-value' | 'expression' | 'predicate';
  filter: unknown;
  notify_record_type: string;
  criteria: Record<string, unknown>;
  locale: string | null;
  callback_url: string;
  status: 'subscribe' | 'unsubscribe';
  created_at: Date;
  ended_at: Date | null;
}

const SUB_COLUMNS = `tenant_id, id, code, client_id, sender_id, transaction_row, reference_id, event_type, filter_type,
  filter, notify_record_type, criteria, locale, callback_url, status, created_at, ended_at`;

/** Inserts an active subscription; null when the client already holds one with the same criteria. */
export async function insertSubscription(
  q: Queryable,
  s: {
    tenantId: string;
    id: string;
    code: string;
    clientId: string;
    senderId: string;
    transactionRow: string;
    referenceId: string;
    eventType: string;
    filterType: string;
    filter: unknown;
    notifyRecordType: string;
    criteria: unknown;
    criteriaHash: string;
    locale: string | null;
    callbackUrl: string;
  },
): Promise<SubscriptionRow | null> {
  const { rows } = await q.query<SubscriptionRow>(
    `INSERT INTO dci_subscriptions (tenant_id, id, code, client_id, sender_id, transaction_row, reference_id, event_type,
       filter_type, filter, notify_record_type, criteria, criteria_hash, locale, callback_url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (tenant_id, client_id, criteria_hash) WHERE status = 'subscribe' DO NOTHING
     RETURNING ${SUB_COLUMNS}`,
    [
      s.tenantId,
      s.id,
      s.code,
      s.clientId,
      s.senderId,
      s.transactionRow,
      s.referenceId,
      s.eventType,
      s.filterType,
      JSON.stringify(s.filter),
      s.notifyRecordType,
      JSON.stringify(s.criteria),
      s.criteriaHash,
      s.locale,
      s.callbackUrl,
    ],
  );
  return rows[0] ?? null;
}

export async function subscriptionsOfTxn(
  q: Queryable,
  tenantId: string,
  txnRow: string,
): Promise<SubscriptionRow[]> {
  const { rows } = await q.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM dci_subscriptions WHERE tenant_id = $1 AND transaction_row = $2 ORDER BY created_at, id`,
    [tenantId, txnRow],
  );
  return rows;
}

export async function findSubscriptionsByCode(
  q: Queryable,
  tenantId: string,
  codes: readonly string[],
  lock = false,
): Promise<SubscriptionRow[]> {
  const { rows } = await q.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM dci_subscriptions WHERE tenant_id = $1 AND code = ANY($2::text[])${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, codes],
  );
  return rows;
}

export async function findSubscription(
  q: Queryable,
  tenantId: string,
  id: string,
): Promise<SubscriptionRow | null> {
  const { rows } = await q.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM dci_subscriptions WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function endSubscription(q: Queryable, tenantId: string, id: string): Promise<void> {
  await q.query(
    `UPDATE dci_subscriptions SET status = 'unsubscribe', ended_at = now()
      WHERE tenant_id = $1 AND id = $2 AND status = 'subscribe'`,
    [tenantId, id],
  );
}

/** Active subscriptions to any of these event types, across tenants (the outbox consumer). */
export async function activeSubscriptions(
  q: Queryable,
  tenantIds: readonly string[],
  eventTypes: readonly string[],
): Promise<SubscriptionRow[]> {
  if (tenantIds.length === 0 || eventTypes.length === 0) return [];
  const { rows } = await q.query<SubscriptionRow>(
    `SELECT ${SUB_COLUMNS} FROM dci_subscriptions
      WHERE tenant_id = ANY($1::uuid[]) AND event_type = ANY($2::text[]) AND status = 'subscribe'
      ORDER BY tenant_id, created_at, id`,
    [tenantIds, eventTypes],
  );
  return rows;
}
