import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { namedSchemas } from './components.js';
import { finishDocument } from './document.js';
import { introduction } from './introduction.js';
import { describeOperation } from './operations.js';
import { securitySchemes } from './security.js';

/** A hearth: the mark of /docs (inline SVG, no external request). */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="40" height="40">
<path d="M32 6 6 28h6v28h40V28h6z" fill="#7a2e1b"/><path d="M32 50c-7 0-11-5-11-10 0-7 7-10 6-17 6 3 8 8 8 12 2-2 3-4 3-7 4 4 5 8 5 12 0 5-4 10-11 10z" fill="#f2a541"/></svg>`;

const CSS = `
.swagger-ui .topbar { background: #7a2e1b; padding: 6px 0; }
.swagger-ui .topbar .download-url-wrapper { display: none; }
.swagger-ui .topbar a span { color: #fff; font-weight: 600; font-size: 1.2em; margin-left: 8px; }
.swagger-ui .topbar a span::after { content: 'Hearth API'; }
.swagger-ui .info .title { color: #7a2e1b; }
.swagger-ui .btn.authorize { color: #7a2e1b; border-color: #7a2e1b; }
.swagger-ui .btn.authorize svg { fill: #7a2e1b; }
`;

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
  await app.register(swaggerUi, {
    routePrefix: '/docs',
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
    // Operations folded under their tags and no model section: the page paints at once instead of
    // laying out 160 operations and 150 schemas (measured in bench/docs-render.ts).
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
