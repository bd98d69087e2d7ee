import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';

interface LoggedRequest {
  id: string;
  method: string;
  url: string;
  routeOptions?: { url?: string };
  ip?: string;
}

/**
 * pino settings: a request is logged by its route pattern only — never the raw path or query,
 * which carry identifiers (`/Individual/urn:…national_id|19840101-1234`) — and credentials are
 * redacted wherever they appear.
 */
export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.client_secret',
        '*.password',
        '*.access_token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(req: LoggedRequest) {
        return { id: req.id, method: req.method, route: req.routeOptions?.url ?? 'unmatched' };
      },
    },
  };
}

/**
 * One line per request once it is answered (Fastify's own request logging is off): route
 * template, status, time, and who asked — tenant and client ids, no identifier values.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const actor = request.actor;
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      tenant_id: actor?.tenantId ?? null,
      client_id: actor?.principal.clientId ?? null,
    };
    if (reply.statusCode >= 500) request.log.error(line, 'request failed');
    else request.log.info(line, 'request completed');
  });
}
