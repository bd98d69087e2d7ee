import type { Queryable } from '../../db/database.js';

/** Parameterised SQL of DCI transactions, the replay window and callbacks (migration 0014). */

export type TxnKind = 'search' | 'subscribe' | 'unsubscribe' | 'txn-status';
export type TxnStatus = 'rcvd' | 'pdng' | 'succ' | 'rjct';

export interface TxnRow {
  tenant_id: string;
  id: string;
  client_id: string;
  sender_id: string;
  kind: TxnKind;
  mode: 'sync' | 'async';
  transaction_id: string;
  correlation_id: string;
  message_id: string;
  status: TxnStatus;
  request: Record<string, unknown>;
  outcome: unknown;
  reference_ids: string[];
  created_at: Date;
  completed_at: Date | null;
}

/**
 * Remembers a message id for the replay window. False: the same client and sender sent it within
 * the window (a duplicate). An id older than the window counts as new again.
 */
export async function rememberMessage(
  q: Queryable,
  m: { tenantId: string; clientId: string; senderId: string; messageId: string; windowSeconds: number },
): Promise<boolean> {
  const { rows } = await q.query(
    `INSERT INTO dci_messages (tenant_id, client_id, sender_id, message_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, client_id, sender_id, message_id) DO UPDATE SET received_at = now()
       WHERE dci_messages.received_at < now() - make_interval(secs => $5)
     RETURNING 1`,
    [m.tenantId, m.clientId, m.senderId, m.messageId, m.windowSeconds],
  );
  return rows.length === 1;
}

/** Forgets message ids older than the window (system sweep, all tenants). */
export async function purgeMessages(q: Queryable, windowSeconds: number): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM dci_messages WHERE received_at < now() - make_interval(secs => $1)',
    [windowSeconds],
  );
  return rowCount;
}

export interface NewTxn {
  tenantId: string;
  id: string;
  clientId: string;
  senderId: string;
  kind: TxnKind;
  mode: 'sync' | 'async';
  transactionId: string;
  messageId: string;
  status: TxnStatus;
  request: unknown;
  outcome: unknown;
  referenceIds: string[];
}

const TXN_COLUMNS = `tenant_id, id, client_id, sender_id, kind, mode, transaction_id, correlation_id, message_id, status,
  request, outcome, reference_ids, created_at, completed_at`;

/** The correlation id of a transaction is its row id. */
export async function insertTxn(q: Queryable, t: NewTxn): Promise<void> {
  await q.query(
    `INSERT INTO dci_transactions (tenant_id, id, client_id, sender_id, kind, mode, transaction_id, correlation_id,
       message_id, status, request, outcome, reference_ids, completed_at)
     VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $2::uuid::text, $8, $9, $10, $11, $12, CASE WHEN $9 IN ('succ', 'rjct') THEN now() END)`,
    [
      t.tenantId,
      t.id,
      t.clientId,
      t.senderId,
      t.kind,
      t.mode,
      t.transactionId,
      t.messageId,
      t.status,
      JSON.stringify(t.request),
      t.outcome === null ? null : JSON.stringify(t.outcome),
      t.referenceIds,
    ],
  );
}

export async function completeTxn(
  q: Queryable,
  tenantId: string,
  id: string,
  status: TxnStatus,
  outcome: unknown,
  referenceIds?: readonly string[],
): Promise<void> {
  await q.query(
    `UPDATE dci_transactions SET status = $3, outcome = $4, completed_at = COALESCE(completed_at, now()),
            reference_ids = COALESCE($5::text[], reference_ids)
      WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id, status, JSON.stringify(outcome), referenceIds ?? null],
  );
}

export async function findTxn(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<TxnRow | null> {
  const { rows } = await q.query<TxnRow>(
    `SELECT ${TXN_COLUMNS} FROM dci_transactions WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

/**
 * A client's latest transaction of a kind, found by its transaction_id, our correlation_id, or
 * any of its reference ids. Another client's transactions are never found.
 */
export async function lookupTxn(
  q: Queryable,
  f: {
    tenantId: string;
    clientId: string;
    kinds: readonly TxnKind[];
    by: 'transaction_id' | 'correlation_id' | 'reference_id_list';
    values: readonly string[];
  },
): Promise<TxnRow | null> {
  const condition =
    f.by === 'transaction_id'
      ? 'transaction_id = ANY($4::text[])'
      : f.by === 'correlation_id'
        ? 'correlation_id = ANY($4::text[])'
        : 'reference_ids && $4::text[]';
  const { rows } = await q.query<TxnRow>(
    `SELECT ${TXN_COLUMNS} FROM dci_transactions
      WHERE tenant_id = $1 AND client_id = $2 AND kind = ANY($3::text[]) AND ${condition}
      ORDER BY created_at DESC, id DESC LIMIT 1`,
    [f.tenantId, f.clientId, f.kinds, f.values],
  );
  return rows[0] ?? null;
}

export type CallbackAction = 'on-search' | 'txn-on-status' | 'on-subscribe' | 'on-unsubscribe' | 'notify';

export interface CallbackRow {
  tenant_id: string;
  id: string;
  client_id: string;
  action: CallbackAction;
  transaction_row: string | null;
  subscription_id: string | null;
  event_id: string | null;
  person_id: string | null;
  message_id: string;
  target_url: string;
  status: 'pending' | 'succeeded' | 'failed' | 'skipped';
  attempts: number;
}

export async function insertCallback(
  q: Queryable,
  c: {
    tenantId: string;
    id: string;
    clientId: string;
    action: CallbackAction;
    transactionRow?: string | null;
    subscriptionId?: string | null;
    eventId?: string | null;
    personId?: string | null;
    messageId: string;
    targetUrl: string;
  },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO dci_callbacks (tenant_id, id, client_id, action, transaction_row, subscription_id, event_id, person_id,
       message_id, target_url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
    [
      c.tenantId,
      c.id,
      c.clientId,
      c.action,
      c.transactionRow ?? null,
      c.subscriptionId ?? null,
      c.eventId ?? null,
      c.personId ?? null,
      c.messageId,
      c.targetUrl,
    ],
  );
  return rowCount === 1;
}

export async function findCallback(q: Queryable, tenantId: string, id: string): Promise<CallbackRow | null> {
  const { rows } = await q.query<CallbackRow>(
    `SELECT tenant_id, id, client_id, action, transaction_row, subscription_id, event_id, person_id, message_id,
            target_url, status, attempts
       FROM dci_callbacks WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

/** Closes a callback that will never be sent (the record may no longer go out, the client is gone…). */
export async function skipCallback(q: Queryable, tenantId: string, id: string, why: string): Promise<void> {
  await q.query(
    `UPDATE dci_callbacks SET status = 'skipped', last_error = $3, updated_at = now(), completed_at = now()
      WHERE tenant_id = $1 AND id = $2 AND status = 'pending'`,
    [tenantId, id, why.slice(0, 2000)],
  );
}

/** Logs one attempt and moves the callback on: succeeded, still pending, or failed for good. */
export async function recordAttempt(
  q: Queryable,
  a: {
    tenantId: string;
    callbackId: string;
    attempt: number;
    attemptedAt: Date;
    durationMs: number;
    statusCode: number | null;
    error: string | null;
    excerpt: string | null;
    final: boolean;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO dci_callback_attempts (tenant_id, callback_id, attempt, attempted_at, duration_ms, status_code, error,
       response_excerpt)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      a.tenantId,
      a.callbackId,
      a.attempt,
      a.attemptedAt.toISOString(),
      a.durationMs,
      a.statusCode,
      a.error?.slice(0, 2000) ?? null,
      a.excerpt,
    ],
  );
  const status = a.error === null ? 'succeeded' : a.final ? 'failed' : 'pending';
  await q.query(
    `UPDATE dci_callbacks SET attempts = $3, status = $4, last_status_code = $5, last_error = $6, updated_at = now(),
            completed_at = CASE WHEN $4 <> 'pending' THEN now() END
      WHERE tenant_id = $1 AND id = $2`,
    [a.tenantId, a.callbackId, a.attempt, status, a.statusCode, a.error?.slice(0, 2000) ?? null],
  );
}

/** Whether this subscription already notified about this person (REGISTER goes out once). */
export async function notifiedBefore(
  q: Queryable,
  tenantId: string,
  subscriptionId: string,
  personId: string,
): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM dci_callbacks WHERE tenant_id = $1 AND subscription_id = $2 AND person_id = $3 AND action = 'notify'
        AND status = 'succeeded' LIMIT 1`,
    [tenantId, subscriptionId, personId],
  );
  return rows.length > 0;
}

export interface EventRow {
  event_id: string;
  type: string;
  occurred_at: Date;
  resource_type: string;
  resource_id: string;
  person_id: string | null;
}

/** The outbox event a notification is about (ids only, no personal data). */
export async function findEvent(q: Queryable, tenantId: string, eventId: string): Promise<EventRow | null> {
  const { rows } = await q.query<EventRow>(
    `SELECT event_id, type, occurred_at, resource_type, resource_id, person_id FROM outbox_events
      WHERE tenant_id = $1 AND event_id = $2`,
    [tenantId, eventId],
  );
  return rows[0] ?? null;
}
