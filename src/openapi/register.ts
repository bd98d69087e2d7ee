import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import { namedSchemas } from './components.js';
import { finishDocument } from './document.js';
import { introduction } from './introduction.js';
import { describeOperation } from './operations.js';
import { LOGO, renderReference } from './reference-page.js';
import { securitySchemes } from './security.js';

/** Swagger UI (the interactive console at /docs/try) in Hearth's colours. */
const CSS = `
.swagger-ui .topbar { background: #7a2e1b; padding: 6px 0; }
.swagger-ui .topbar .download-url-wrapper { display: none; }
.swagger-ui .topbar a span { color: #fff; font-weight: 600; font-size: 1.2em; margin-left: 8px; }
.swagger-ui .topbar a span::after { content: 'Hearth API'; }
.swagger-ui .info .title { color: #7a2e1b; }
.swagger-ui .btn.authorize { color: #7a2e1b; border-color: #7a2e1b; }
.swagger-ui .btn.authorize svg { fill: #7a2e1b; }
`;

/** No script, no outside request: inline styles and the inline logo only. */
const DOCS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hearth API',
        version: '0.1.0',
        description: introduction(config.publicUrl),
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: config.publicUrl, description: 'this Hearth server (HEARTH_PUBLIC_URL)' }],
      components: {
        securitySchemes: securitySchemes(config.publicUrl) as never,
        // Given to @fastify/swagger so they go through the same conversion as the route schemas;
        // finishDocument then refers to them and drops those no route uses.
        schemas: namedSchemas() as never,
      },
    },
    // OpenAPI 3.1 has `const`; turning it into a one-value enum would only lose the intent.
    convertConstToEnum: false,
    transform: describeOperation as never,
    transformObject: finishDocument as never,
  });
  // The reference itself: plain HTML from the document, rendered once (docs/decisions/0113).
  let page: string | undefined;
  const reference = async (_request: unknown, reply: FastifyReply) => {
    page ??= renderReference(app.swagger());
    return reply
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Content-Security-Policy', DOCS_CSP)
      .header('Cache-Control', 'no-cache')
      .send(page);
  };
  app.get('/docs', { schema: { hide: true } }, reference);

  // The interactive console (Authorize, Try it out) for those who want it; /docs does not load it.
  await app.register(swaggerUi, {
    routePrefix: '/docs/try',
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/docs', target: '_self' },
    theme: {
      title: 'Hearth API reference',
      css: [{ filename: 'hearth.css', content: CSS }],
      favicon: [
        {
          filename: 'favicon.svg',
          rel: 'icon',
          type: 'image/svg+xml',
          sizes: 'any',
          content: Buffer.from(LOGO),
        },
      ],
    },
    // Operations folded under their tags and no model section: less to lay out once the spec is
    // processed (bench/docs-render.ts measures both pages).
    uiConfig: {
      docExpansion: 'none',
      defaultModelsExpandDepth: -1,
      deepLinking: true,
      filter: true,
      persistAuthorization: true,
      tryItOutEnabled: false,
    },
  });
}
