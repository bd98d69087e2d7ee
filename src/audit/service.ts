import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { NIL_UUID } from '../lib/ids.js';
import { canonicalAuditText, chainHash, type StoredAuditEvent } from './audit.js';
import type { AuditBuffer } from './buffer.js';
import type { AuditEventOut, AuditQuery } from './schemas.js';

type Row = StoredAuditEvent & { seq: number; prev_hash: Buffer; hash: Buffer };

const COLUMNS = `event_id, occurred_at, tenant_id, actor_id, action, resource_type, resource_id, outcome, status,
  correlation_id, ip, vertical_id, program_id, severity, details, user_id`;

export function createAuditService(db: Database, buffer: AuditBuffer) {
  return {
    async list(actor: Actor, q: AuditQuery & { limit: number }) {
      await buffer.flush();
      const key = actor.tenantId ?? NIL_UUID;
      const rows = await tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<StoredAuditEvent>(
          `SELECT ${COLUMNS} FROM audit_events
            WHERE tenant_key = $1 AND event_id > $2
              AND ($3::text IS NULL OR actor_id = $3)
              AND ($4::text IS NULL OR resource_type = $4)
              AND ($5::text IS NULL OR resource_id = $5)
              AND ($6::text IS NULL OR action = $6)
              AND ($7::text IS NULL OR outcome = $7)
              AND ($8::timestamptz IS NULL OR occurred_at >= $8)
              AND ($9::timestamptz IS NULL OR occurred_at < $9)
              AND ($11::text IS NULL OR user_id = $11)
            ORDER BY event_id LIMIT $10`,
          [
            key,
            decodeIdCursor(q.cursor) ?? NIL_UUID,
            q.actor ?? null,
            q.resource_type ?? null,
            q.resource_id ?? null,
            q.action ?? null,
            q.outcome ?? null,
            q.since ?? null,
            q.until ?? null,
            q.limit + 1,
            q.user_id ?? null,
          ],
        );
        return rows;
      });
      const page = pageOf(rows, q.limit, (r) => [r.event_id]);
      const data: AuditEventOut[] = page.data.map(({ occurred_at, ...r }) => ({
        ...r,
        timestamp: occurred_at.toISOString(),
      }));
      return { data, next_cursor: page.next_cursor };
    },

    /** Recomputes the tenant's chain from its first event; reports the first event that does not match. */
    async verify(actor: Actor) {
      await buffer.flush();
      const key = actor.tenantId ?? NIL_UUID;
      return tenantTx(db, actor, async (tx) => {
        let prev: Buffer = Buffer.alloc(0);
        let expectedSeq = 1;
        let checked = 0;
        for (;;) {
          const { rows } = await tx.query<Row>(
            `SELECT seq, prev_hash, hash, ${COLUMNS} FROM audit_events
              WHERE tenant_key = $1 AND seq >= $2 ORDER BY seq LIMIT 1000`,
            [key, expectedSeq],
          );
          for (const row of rows) {
            const reason =
              row.seq !== expectedSeq
                ? 'an event is missing before this one'
                : !row.prev_hash.equals(prev)
                  ? 'previous-hash link does not match'
                  : !row.hash.equals(chainHash(prev, canonicalAuditText(row)))
                    ? 'event content does not match its hash'
                    : null;
            if (reason) {
              return {
                valid: false,
                checked,
                first_break: { event_id: row.event_id, timestamp: row.occurred_at.toISOString(), reason },
              };
            }
            prev = row.hash;
            expectedSeq++;
            checked++;
          }
          if (rows.length < 1000) break;
        }
        return { valid: true, checked, first_break: null };
      });
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
