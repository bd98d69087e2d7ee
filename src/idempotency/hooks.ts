import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { stableStringify } from '../lib/stable-json.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { clientId: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** The route handles Idempotency-Key itself (streamed bodies, push exchanges). */
    ownIdempotency?: boolean;
  }
}

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const STALE_IN_PROGRESS_SECONDS = 300;
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

interface StoredKey {
  request_hash: string;
  state: 'in_progress' | 'done';
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  fresh: boolean;
}

export function fingerprint(request: FastifyRequest): string {
  const body = typeof request.body === 'string' ? request.body : stableStringify(request.body ?? null);
  return createHash('sha256').update(`${request.method} ${request.url}\n${body}`).digest('hex');
}

/** Claims the key: true when this request runs; otherwise the stored state. */
async function claim(
  db: Database,
  clientId: string,
  key: string,
  hash: string,
  ttlSeconds: number,
): Promise<StoredKey | null> {
  const inserted = await db.query(
    `INSERT INTO idempotency_keys (client_id, key, request_hash, state, expires_at)
     VALUES ($1, $2, $3, 'in_progress', now() + make_interval(secs => $4))
     ON CONFLICT (client_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, state = 'in_progress', response_status = NULL,
           response_headers = NULL, response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at < now()
          OR (idempotency_keys.state = 'in_progress'
              AND idempotency_keys.created_at < now() - make_interval(secs => $5))
     RETURNING client_id`,
    [clientId, key, hash, ttlSeconds, STALE_IN_PROGRESS_SECONDS],
  );
  if (inserted.rowCount > 0) return null;
  const { rows } = await db.query<StoredKey>(
    `SELECT request_hash, state, response_status, response_headers, response_body, true AS fresh
       FROM idempotency_keys WHERE client_id = $1 AND key = $2`,
    [clientId, key],
  );
  return rows[0] ?? null;
}

/**
 * Idempotency-Key on any POST: the first request runs and its response is stored before it is
 * sent; a replay with the same body gets that response again (Idempotent-Replayed: true); the same
 * key with another body → 422; a duplicate arriving while the first still runs → 409.
 */
export function registerIdempotencyHooks(app: FastifyInstance, db: Database, ttlSeconds: number): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST' || request.routeOptions.config.ownIdempotency) return;
    const raw = request.headers['idempotency-key'];
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (key === undefined) return;
    if (!KEY_RE.test(key)) {
      throw new AppError('ERR_VAL_INVALID_FORMAT', 'Idempotency-Key must be 1–255 visible ASCII characters', {
        status: 400,
        errors: [{ field: 'Idempotency-Key', message: 'invalid' }],
      });
    }
    const clientId = request.actor?.principal.clientId ?? `ip:${request.ip}`;
    const hash = fingerprint(request);
    const stored = await claim(db, clientId, key, hash, ttlSeconds);
    if (!stored) {
      request.idempotency = { clientId, key };
      return;
    }
    if (stored.request_hash !== hash) {
      throw new AppError(
        'ERR_IDEMPOTENCY_MISMATCH',
        'this Idempotency-Key was used with a different request',
      );
    }
    if (stored.state === 'in_progress') {
      throw new AppError(
        'ERR_IDEMPOTENCY_IN_PROGRESS',
        'a request with this Idempotency-Key is still being processed',
        {
          headers: { 'Retry-After': '1' },
        },
      );
    }
    if (request.actor) request.actor.audit.recorded = false;
    reply.header('Idempotent-Replayed', 'true');
    for (const [name, value] of Object.entries(stored.response_headers ?? {})) reply.header(name, value);
    return reply
      .code(stored.response_status ?? 200)
      .serializer((p: unknown) => p as string)
      .send(stored.response_body ?? '');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claimed = request.idempotency;
    if (!claimed) return payload;
    request.idempotency = null;
    const status = reply.statusCode;
    if (status >= 500 || typeof payload !== 'string') {
      // Not a final answer: free the key so the client can retry.
      await db.query('DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2', [
        claimed.clientId,
        claimed.key,
      ]);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const v = reply.getHeader(name);
      if (v !== undefined) headers[name] = String(v);
    }
    await db.query(
      `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_headers = $4, response_body = $5
        WHERE client_id = $1 AND key = $2`,
      [claimed.clientId, claimed.key, status, JSON.stringify(headers), payload],
    );
    return payload;
  });
}
