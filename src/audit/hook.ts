import type { FastifyInstance } from 'fastify';
import type { Outcome } from './audit.js';
import type { AuditBuffer } from './buffer.js';

function outcomeOf(status: number): Outcome {
  if (status < 400) return 'success';
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return 'failure';
}

/**
 * Every API call leaves an audit event. Writes record theirs inside their own transaction (fail
 * closed); this hook records the rest after the response: reads, refusals, and failures whose
 * transaction rolled back.
 */
export function registerAuditHook(app: FastifyInstance, buffer: AuditBuffer): void {
  app.addHook('onResponse', async (request, reply) => {
    const auth = request.routeOptions.config?.auth;
    if (auth?.public && !request.routeOptions.config?.auditPublic) return;
    if (request.is404 && !request.actor) return;
    const actor = request.actor;
    const status = reply.statusCode;
    const masked = actor?.audit.masked;
    if (actor?.audit.recorded && status < 400 && !masked) return;
    buffer.add({
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
      details: masked
        ? { masking: { fields: [...masked].sort(), persons: actor?.audit.maskedPersons ?? 0 } }
        : null,
    });
  });
  app.addHook('onClose', async () => buffer.flush());
}
