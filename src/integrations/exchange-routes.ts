import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseBearer } from '../auth/authenticator.js';
import { toAppError } from '../http/problem.js';
import { errorResponses, Page } from '../http/schemas.js';
import { isUuid } from '../lib/ids.js';
import {
  Exchange,
  ExchangeDetail,
  ExchangeDetailQuery,
  ExchangeItemParams,
  ExchangeListQuery,
  ExchangeParams,
  PullFileAccepted,
  PullJson,
  PullQuery,
  PushAccepted,
  PushBody,
} from './exchange-schemas.js';
import type { ExchangeDirection } from './lifecycle.js';

const tags = ['data exchange'];
const PULL_URL = '/api/v1/integrations/:integration_id/data/pull';
const PUSH_URL = '/api/v1/integrations/:integration_id/data/push';
const DIRECTIONS: Record<string, ExchangeDirection> = { [PULL_URL]: 'pull', [PUSH_URL]: 'push' };

const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  xml: 'application/xml; charset=utf-8',
} as const;

const XML_DOC =
  'format=xml: `<?xml version="1.0" encoding="UTF-8"?><records exchange_id="…"><record>…</record>…</records>`, ' +
  'one `record` element per person holding one element per field_list field in its order (household ' +
  'fields nested in `household`); null values are empty elements; lists repeat a singular child ' +
  '(`identities/identity`, `contacts/contact`, `household/members/member`, ' +
  '`memberships/membership`, `relationships/relationship`, `masked_fields/field`, `address/line`); ' +
  '`extensions` holds JSON text.';

const CSV_DOC =
  'format=csv: RFC 4180 (CRLF, UTF-8) with a header row: the field_list in its order, then ' +
  'masked_fields (names joined with `;`). Lists and objects are JSON text; cells starting with ' +
  '= + - @ (or tab, CR) are prefixed with an apostrophe so spreadsheets never run them.';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Data exchange under /api/v1/integrations/{id}: pull, push and the exchange logs. Routes only
 * translate; the exchange service applies the contract rules and writes the logs.
 */
export const exchangeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { exchanges } = app.hearth.services;
  const { exchangeMaxBytes } = app.hearth.config;
  /** Requests the service saw: it logs their refusals itself. */
  const reached = new WeakSet<object>();

  // A push or pull refused before the service ran (token, scope, body, size, rate) still
  // leaves a failed exchange row when the integration and the caller can be told.
  app.addHook('onError', async (request, _reply, error) => {
    const direction = DIRECTIONS[request.routeOptions.url ?? ''];
    if (!direction || reached.has(request)) return;
    const integrationId = str((request.params as Record<string, unknown> | undefined)?.integration_id);
    if (!integrationId || !isUuid(integrationId)) return;
    const input = (direction === 'pull' ? request.query : request.body) as Record<string, unknown> | null;
    const header = request.headers['idempotency-key'];
    await exchanges.logEarlyRefusal({
      actor: request.actor,
      bearer: request.headers.authorization ? parseBearer(request.headers.authorization) : null,
      integrationId,
      direction,
      contractId: str(input?.contract_id),
      format: str(input?.format) ?? (direction === 'pull' ? 'json' : null),
      idempotencyKey: str(input?.idempotency_key) ?? str(Array.isArray(header) ? header[0] : header),
      correlationId: request.id,
      error: toAppError(error).error,
    });
  });

  app.get(
    PULL_URL,
    {
      config: { auth: { scopes: ['exchange:pull'] } },
      schema: {
        tags,
        summary:
          'Pull persons under a contract (its own client only): consented, masked, projected to its field_list',
        description:
          'Returns the persons that hold an active consent in every vertical the contract requires ' +
          '(grace periods do not allow exports), each cut to the contract’s field_list and masked ' +
          'by the access decision. The page streams; its exchange id is in `X-Exchange-Id` and the ' +
          'cursor of the next page in `X-Next-Cursor` (and `next_cursor` for json). ' +
          'With `delivery=file` the pull runs in the background (the whole result unless `limit` is ' +
          'given) and answers 202 `{exchange_id, status, output_file_ref}`: poll the exchange, then ' +
          'GET output_file_ref once it is completed. ' +
          `${CSV_DOC} ${XML_DOC}`,
        params: ExchangeParams,
        querystring: PullQuery,
        response: {
          ...errorResponses(404, 409),
          202: PullFileAccepted,
          200: {
            description: 'the page, streamed',
            headers: {
              'X-Exchange-Id': Type.String({ format: 'uuid' }),
              'X-Next-Cursor': Type.String({ description: 'absent on the last page' }),
            },
            content: {
              'application/json': { schema: PullJson },
              'text/csv': { schema: Type.String({ description: CSV_DOC }) },
              'application/xml': { schema: Type.String({ description: XML_DOC }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      reached.add(request);
      const result = await exchanges.pull(request.actor!, request.params.integration_id, request.query);
      if (result.delivery === 'file') {
        return reply
          .code(202)
          .header('X-Exchange-Id', result.accepted.exchange_id)
          .header('Location', result.accepted.output_file_ref)
          .send(result.accepted);
      }
      reply.header('X-Exchange-Id', result.exchangeId).header('Cache-Control', 'no-store');
      if (result.nextCursor) reply.header('X-Next-Cursor', result.nextCursor);
      return reply.type(CONTENT_TYPES[result.format]).send(Readable.from(result.body) as never);
    },
  );

  app.get(
    '/api/v1/integrations/:integration_id/exchanges/:exchange_id/output',
    {
      config: { auth: { scopes: ['exchange:pull'] } },
      schema: {
        tags,
        summary: 'The output of a file pull (its own client only), once the exchange is completed',
        description:
          'The same body an inline pull of that page would stream (json, csv or xml, by the pull’s ' +
          '`format`), streamed from storage. 404 for anything but a file pull of this integration, ' +
          '409 with `current_status` while the pull is accepted or running (or when it failed), ' +
          '410 once the output has expired. The integration must still be allowed to pull and the ' +
          'contract must still be in force.',
        params: ExchangeItemParams,
        response: {
          ...errorResponses(404, 409, 410),
          200: {
            description: 'the file, streamed',
            headers: { 'X-Exchange-Id': Type.String({ format: 'uuid' }) },
            content: {
              'application/json': { schema: PullJson },
              'text/csv': { schema: Type.String({ description: CSV_DOC }) },
              'application/xml': { schema: Type.String({ description: XML_DOC }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const out = await exchanges.output(
        request.actor!,
        request.params.integration_id,
        request.params.exchange_id,
      );
      return reply
        .header('X-Exchange-Id', out.exchangeId)
        .header('Cache-Control', 'no-store')
        .header('Content-Length', String(out.bytes))
        .type(CONTENT_TYPES[out.format])
        .send(Readable.from(out.body) as never);
    },
  );

  app.post(
    PUSH_URL,
    {
      bodyLimit: exchangeMaxBytes,
      config: { auth: { scopes: ['exchange:push'] }, ownIdempotency: true },
      schema: {
        tags,
        summary: 'Push records under a contract (its own client only); processed in the background',
        description:
          'Records are matched by identity (identity_type, identity_number) and update the ' +
          'consented person holding it; a push creates nobody, and a record naming nobody the ' +
          'integration may update is rejected with one and the same error (unused or hidden alike). ' +
          'Only fields of the contract’s field_list may be written (others reject the record). Answers 202 at once; per-record results are on the exchange. An ' +
          '`idempotency_key` (or `Idempotency-Key` header) makes the push happen once: a retry ' +
          'returns the original exchange, the same key with another payload is a 422. Malformed ' +
          'CSV or XML, XML with a DOCTYPE or entities, and oversized payloads are refused with ' +
          'nothing written.',
        params: ExchangeParams,
        body: PushBody,
        response: { 202: PushAccepted, ...errorResponses(404, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      reached.add(request);
      const header = request.headers['idempotency-key'];
      const outcome = await exchanges.push(
        request.actor!,
        request.params.integration_id,
        request.body,
        Array.isArray(header) ? header[0] : header,
      );
      if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(202).send(outcome.accepted);
    },
  );

  app.get(
    '/api/v1/integrations/:integration_id/exchanges',
    {
      // integrations:read, or the integration's own client: checked by the service.
      config: { auth: { scopes: [] } },
      schema: {
        tags,
        summary: 'Exchange logs of an integration, refusals included (filters: status, direction, since)',
        params: ExchangeParams,
        querystring: ExchangeListQuery,
        response: { 200: Page(Exchange), ...errorResponses(404) },
      },
    },
    async (request) =>
      exchanges.list(request.actor!, request.params.integration_id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.get(
    '/api/v1/integrations/:integration_id/exchanges/:exchange_id',
    {
      config: { auth: { scopes: [] } },
      schema: {
        tags,
        summary: 'One exchange with its per-record results (created, updated, rejected with reasons)',
        params: ExchangeItemParams,
        querystring: ExchangeDetailQuery,
        response: { 200: ExchangeDetail, ...errorResponses(404) },
      },
    },
    async (request) =>
      exchanges.get(request.actor!, request.params.integration_id, request.params.exchange_id, request.query),
  );
};
