import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../http/errors.js';
import { Page } from '../http/schemas.js';
import { columnsMarkdown } from './columns.js';
import {
  ImportAccepted,
  ImportErrorsQuery,
  ImportListQuery,
  ImportOptionsQuery,
  ImportParams,
  ImportRowError,
  ImportView,
} from './schemas.js';
import { tooLarge } from './upload.js';

const tags = ['imports'];
const write = { scopes: ['persons:write'] } as const;
const CSV_TYPES = ['text/csv'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson'];

const DESCRIPTION = `The body is the file itself, streamed: \`Content-Type: text/csv\` (UTF-8, comma-separated,
header row first) or \`application/x-ndjson\` (one POST /persons body per line). The upload is staged as it
arrives and answered with 202 and an import_id; a job then validates every row with the rules of POST /persons
(schema, vocabularies, identity uniqueness, contacts, household), catches identities given twice in the file and
applies the valid rows with provenance collection_method=import. Follow GET /api/v1/person-imports/{import_id}; per-row errors
at GET …/{import_id}/errors. A malformed file (bad quoting, unknown or missing header columns, no rows) is
refused at once with 4xx and nothing is kept. Largest file: HEARTH_IMPORT_MAX_BYTES. An Idempotency-Key names one
run: the same key with the same file and options answers with that run again.

CSV columns (empty cell = field absent): ${columnsMarkdown()}.`;

/**
 * Imports live at /api/v1/person-imports. The first paths, /api/v1/persons/imports…, stay served
 * for existing clients but are left out of the OpenAPI document and answer with a Deprecation
 * header: beside /api/v1/persons/{person_id}/… they made ambiguous templates (docs/decisions/0110).
 */
export const IMPORTS_PATH = '/api/v1/person-imports';
const LEGACY_IMPORTS_PATH = '/api/v1/persons/imports';

export const importRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const base of [IMPORTS_PATH, LEGACY_IMPORTS_PATH]) await app.register(importRoutesAt(base));
};

function importRoutesAt(base: string): FastifyPluginAsyncTypebox {
  const legacy = base !== IMPORTS_PATH;
  const hide = legacy ? { hide: true } : {};
  // onSend, not onRequest: refusals (401, 403…) name the successor too.
  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!legacy) return payload;
    const successor = `${IMPORTS_PATH}${request.url.split('?')[0].slice(base.length)}`;
    reply.header('Deprecation', 'true').header('Link', `<${successor}>; rel="successor-version"`);
    return payload;
  };
  return async (app) => {
    const { imports } = app.hearth.services;
    const maxBytes = app.hearth.config.importMaxBytes;

    await app.register(async (plugin) => {
      for (const type of [...CSV_TYPES, ...NDJSON_TYPES]) {
        if (plugin.hasContentTypeParser(type)) plugin.removeContentTypeParser(type);
      }
      plugin.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES], (_req, payload, done) =>
        done(null, payload),
      );
      const r = plugin.withTypeProvider<TypeBoxTypeProvider>();
      r.post(
        base,
        {
          onSend,
          bodyLimit: maxBytes,
          config: { auth: write, ownIdempotency: true },
          schema: {
            ...hide,
            tags,
            summary: 'Import persons from a CSV or NDJSON file (202; processed by a job)',
            description: DESCRIPTION,
            querystring: ImportOptionsQuery,
            headers: Type.Object({
              'idempotency-key': Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{1,255}$' })),
            }),
            response: { 202: ImportAccepted },
          },
        },
        async (request, reply) => {
          const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
          const body = request.body;
          if (!(body instanceof Readable) || ![...CSV_TYPES, ...NDJSON_TYPES].includes(type)) {
            throw new AppError(
              'ERR_UNSUPPORTED_MEDIA_TYPE',
              'send the file as text/csv or application/x-ndjson',
            );
          }
          const declared = Number(request.headers['content-length'] ?? 0);
          if (declared > maxBytes) throw tooLarge(maxBytes);
          const q = request.query;
          const { accepted, replayed } = await imports.create(request.actor!, body, {
            format: CSV_TYPES.includes(type) ? 'csv' : 'ndjson',
            onDuplicate: (q.on_duplicate ?? 'reject') as 'reject' | 'skip' | 'update',
            mode: (q.mode ?? 'all_or_nothing') as 'all_or_nothing' | 'best_effort',
            dryRun: q.dry_run ?? false,
            filename: q.filename ?? null,
            idempotencyKey: request.headers['idempotency-key'] ?? null,
          });
          if (replayed) reply.header('Idempotent-Replayed', 'true');
          return reply.code(202).header('Location', accepted.links.self).send(accepted);
        },
      );
    });

    app.get(
      base,
      {
        onSend,
        config: { auth: write },
        schema: {
          ...hide,
          tags,
          summary: 'Import runs of the tenant, newest first',
          querystring: ImportListQuery,
          response: { 200: Page(ImportView) },
        },
      },
      async (request) => imports.list(request.actor!, request.query.cursor, request.query.limit ?? 50),
    );

    app.get(
      `${base}/:import_id`,
      {
        onSend,
        config: { auth: write },
        schema: {
          ...hide,
          tags,
          summary: 'State of an import run: status, counts and progress',
          description:
            'status: queued → validating → running → completed | failed | rolled_back. rolled_back: an ' +
            'all_or_nothing run with rejected rows (nothing kept); failed: the run could not be carried out ' +
            '(error says why; a best_effort run keeps the rows applied before).',
          params: ImportParams,
          response: { 200: ImportView },
        },
      },
      async (request) => imports.get(request.actor!, request.params.import_id),
    );

    app.get(
      `${base}/:import_id/errors`,
      {
        onSend,
        config: { auth: write },
        schema: {
          ...hide,
          tags,
          summary:
            'Per-row errors of an import run (JSON pages, or all of them as CSV with Accept: text/csv)',
          params: ImportParams,
          querystring: ImportErrorsQuery,
          response: {
            200: {
              description:
                'JSON pages by default; every error as CSV (row,field,code,message) with Accept: text/csv',
              content: {
                'application/json': { schema: Page(ImportRowError) },
                'text/csv': { schema: Type.String() },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const accept = request.headers.accept ?? '';
        if (/\btext\/csv\b/.test(accept)) {
          const lines = await imports.errorsCsv(request.actor!, request.params.import_id);
          return reply
            .type('text/csv; charset=utf-8')
            .header(
              'Content-Disposition',
              `attachment; filename="import-${request.params.import_id}-errors.csv"`,
            )
            .header('Cache-Control', 'no-store')
            .send(Readable.from(lines) as unknown as string);
        }
        return imports.errors(
          request.actor!,
          request.params.import_id,
          request.query.cursor,
          request.query.limit ?? 50,
        );
      },
    );
  };
}
