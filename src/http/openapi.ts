import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Access token from POST /oauth/token (OAuth 2.0 client credentials).',
  },
  oauth2: {
    type: 'oauth2',
    flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: {} as Record<string, string> } },
  },
  basicAuth: {
    type: 'http',
    scheme: 'basic',
    description: 'API client id and secret (G2P Registry face only).',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'hearth_session',
    description:
      'Browser session of a signed-in person (POST /auth/login). Requests other than GET/HEAD/OPTIONS must also send the session’s csrf_token as X-CSRF-Token.',
  },
} as const;

export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hearth',
        version: '0.1.0',
        description:
          'Registry and data-exchange server for social protection programmes. Errors are RFC 9457 ' +
          'problem details (application/problem+json) with a stable `code` and a `correlation_id`. ' +
          'Lists answer `{data, next_cursor}` and take `limit` (≤ 200) and an opaque `cursor`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: structuredClone(SECURITY_SCHEMES) as never },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
}
