import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DatabaseUnavailableError } from '../db/database.js';
import type { AuditEvent, Outcome } from './audit.js';
import type { AuditBuffer } from './buffer.js';

function outcomeOf(status: number): Outcome {
  if (status < 400) return 'success';
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return 'failure';
}

/** The request-level audit event of a response, or null when the call records its own. */
function requestEvent(request: FastifyRequest, status: number): AuditEvent | null {
  const auth = request.routeOptions.config?.auth;
  if (auth?.public && !request.routeOptions.config?.auditPublic) return null;
  if (request.is404 && !request.actor) return null;
  const actor = request.actor;
  const masked = actor?.audit.masked;
  const sensitive = actor?.audit.sensitive;
  if (actor?.audit.recorded && status < 400 && !masked && !sensitive) return null;
  return {
    tenantId: actor?.tenantId ?? null,
    actorId: actor?.principal.clientId ?? null,
    userId: actor?.principal.userId ?? null,
    action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    resourceType: 'api',
    resourceId: request.url.split('?')[0].slice(0, 500),
    outcome: outcomeOf(status),
    status,
    correlationId: request.id,
    ip: request.ip,
    severity: actor?.principal.isRoot ? 'elevated' : 'normal',
    details:
      masked || sensitive
        ? {
            ...(masked
              ? { masking: { fields: [...masked].sort(), persons: actor?.audit.maskedPersons ?? 0 } }
              : {}),
            // Reads of sensitive fields are audited as such (docs/decisions/0012-access-policy.md).
            ...(sensitive
              ? {
                  sensitive_read: {
                    fields: [...sensitive].sort(),
                    persons: actor?.audit.sensitivePersons ?? 0,
                  },
                }
              : {}),
          }
        : null,
  };
}

const auditFailed = Symbol('hearth.auditFailed');
type AuditedRequest = FastifyRequest & { [auditFailed]?: boolean };

/**
 * Every API call leaves an audit event. Writes record theirs inside their own transaction (fail
 * closed); this hook records the rest — reads, refusals, and failures whose transaction rolled
 * back — before the response leaves (onSend). When the event of a successful answer cannot be
 * stored the answer is not served: the route's error handler answers 503 in its face's shape
 * instead, and the data (a stream too) is dropped unsent.
 */
export function registerAuditHook(app: FastifyInstance, buffer: AuditBuffer): void {
  app.addHook('onSend', async (request: AuditedRequest, reply, payload) => {
    // The 503 that replaces an unaudited answer is not audited again (its store just failed).
    if (request[auditFailed]) return payload;
    const event = requestEvent(request, reply.statusCode);
    if (!event) return payload;
    try {
      await buffer.record(event);
      return payload;
    } catch (err) {
      // A refusal or failure discloses nothing: it is sent (the lost event is logged). An answer
      // that carries data is withheld: the route's error handler answers 503 in the face's shape.
      if (reply.statusCode >= 400) return payload;
      request[auditFailed] = true;
      if (payload instanceof Readable) payload.destroy();
      throw new DatabaseUnavailableError(err);
    }
  });
  app.addHook('onClose', async () => buffer.flush());
}
