import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';

interface LoggedRequest {
  id: string;
  method: string;
  url: string;
  routeOptions?: { url?: string };
  ip?: string;
}

/**
 * pino settings: the request line carries the route pattern (no query string, no ids in clear
 * search terms) and credentials are redacted wherever they appear.
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
        return { id: req.id, method: req.method, path: req.url.split('?')[0], route: req.routeOptions?.url };
      },
    },
  };
}
