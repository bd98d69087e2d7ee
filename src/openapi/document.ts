import { STATUS_CODES } from 'node:http';
import { ERROR_EXAMPLES, ExampleMaker } from './examples.js';
import { REQUEST_EXAMPLES } from './hand-examples.js';
import { refName, SchemaNamer, schemaRef, usedSchemas } from './hoist.js';
import { TAGS } from './tags.js';

/**
 * The document-wide pass over what @fastify/swagger produced: named schemas as `$ref`s, pages
 * named after their item, the standard errors as shared responses with their own status and
 * example, a description and an example for every response and body, tag descriptions, and no
 * unused component. Everything is derived, so routes added later are covered without edits here.
 */

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: unknown[];
  parameters?: { in: string }[];
  requestBody?: { content?: Record<string, Json> };
  responses: Record<string, Json>;
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const PROBLEM_MEDIA = 'application/problem+json';
/** Faces whose errors are not problem documents declare their own error responses. */
const OWN_ERROR_SHAPES = ['/g2p/', '/dci/'];

/** Shared error responses, by status. */
const ERROR_RESPONSES: Record<number, [name: string, description: string]> = {
  400: [
    'BadRequest',
    'Malformed request: a query, path or header parameter is invalid, or the JSON does not parse',
  ],
  401: ['Unauthorized', 'No credentials, or the token is invalid, expired or revoked'],
  403: [
    'Forbidden',
    'The caller lacks a scope or role this operation needs, or may not act on this resource',
  ],
  404: ['NotFound', 'No such resource in the caller’s tenant (or the caller may not know it exists)'],
  409: ['Conflict', 'The resource’s state or a unique value forbids the change'],
  410: ['Gone', 'The resource existed but is no longer available'],
  412: ['PreconditionFailed', 'If-Match names a version that is no longer current'],
  413: ['PayloadTooLarge', 'The request body is larger than the server accepts'],
  415: ['UnsupportedMediaType', 'The Content-Type is not one this operation takes'],
  422: ['ValidationFailed', 'The body is well-formed but invalid: each problem is named in `errors[]`'],
  428: ['PreconditionRequired', 'If-Match is required for this change'],
  429: ['TooManyRequests', 'Rate limit reached: retry after the `Retry-After` seconds'],
  500: ['InternalError', 'Unexpected server error: quote the `correlation_id`'],
  503: ['Unavailable', 'The service or its database is not available right now'],
};

function operationsOf(paths: Record<string, Json>): [string, string, Operation][] {
  const out: [string, string, Operation][] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) if (item[method]) out.push([path, method, item[method] as Operation]);
  }
  return out;
}

/** The name of a list wrapper by its members besides `data` (an array of a named schema). */
const WRAPPERS: Record<string, string> = {
  '': 'List',
  next_cursor: 'Page',
  'next_cursor,warnings': 'SearchPage',
  'links,meta': 'SearchResult',
};

/** `{data: [X], next_cursor}` is `XPage`, `{data: [X]}` is `XList`…: named after their item. */
function wrapperName(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Json;
  const props = s.properties as Json | undefined;
  if (s.type !== 'object' || !props || !('data' in props)) return undefined;
  const suffix =
    WRAPPERS[
      Object.keys(props)
        .filter((k) => k !== 'data')
        .sort()
        .join(',')
    ];
  const item = refName((props.data as Json | undefined)?.items);
  return item && suffix ? `${item}${suffix}` : undefined;
}

/** A shared error response: one per error shape and status, with an example of that status. */
function sharedErrorResponse(
  shared: Json,
  shape: string,
  status: number,
  mediaType: string,
): { $ref: string } {
  const name = `${shape === 'Problem' ? '' : shape}${ERROR_RESPONSES[status]?.[0] ?? `Status${status}`}`;
  if (!shared[name]) {
    const example = ERROR_EXAMPLES[shape]?.(status);
    shared[name] = {
      description: ERROR_RESPONSES[status]?.[1] ?? STATUS_CODES[status] ?? 'Error',
      content: { [mediaType]: { schema: schemaRef(shape), ...(example ? { example } : {}) } },
      ...(status === 429
        ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } }
        : {}),
    };
  }
  return { $ref: `#/components/responses/${name}` };
}

function successDescription(status: string, schema: unknown, op: Operation): string {
  const name = refName(schema);
  if (name?.endsWith('Page'))
    return `A page of ${name.replace(/(Search)?Page$/, '')} (pass next_cursor as cursor for the next)`;
  if (name) return `${STATUS_CODES[Number(status)] ?? 'Success'}: the ${name}`;
  return `${STATUS_CODES[Number(status)] ?? 'Success'}${op.summary ? `: ${op.summary.charAt(0).toLowerCase()}${op.summary.slice(1)}` : ''}`;
}

/**
 * Gives a media object an example. A named schema carries its example itself (Schema Object
 * `examples`), so a resource returned by many operations costs one copy; an inline schema gets
 * the media object's `example`.
 */
function exemplify(media: Json, maker: ExampleMaker, definitions: Record<string, Json>): void {
  if ('example' in media || 'examples' in media) return;
  const name = refName(media.schema);
  const definition = name ? definitions[name] : undefined;
  if (definition && Array.isArray(definition.examples) && definition.examples.length > 0) return;
  const value = maker.of(media.schema);
  if (value === undefined) return;
  if (definition) definition.examples = [value];
  else media.example = value;
}

interface Shared {
  maker: ExampleMaker;
  namer: SchemaNamer;
  responses: Json;
}

function describeResponses(path: string, op: Operation, { maker, namer, responses: shared }: Shared): void {
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  const ownErrors = OWN_ERROR_SHAPES.some((p) => path.startsWith(p));
  const responses = op.responses;
  if (!ownErrors && !isPublic) {
    // 401 (any operation with security), 429, 500 and 503 can answer any call: the introduction
    // says so once instead of on every operation, which keeps the document in its size budget.
    const wanted = [403];
    if ((op.parameters ?? []).some((p) => p.in !== 'path') || op.requestBody) wanted.push(400);
    if ((op.parameters ?? []).some((p) => p.in === 'path')) wanted.push(404);
    if (op.requestBody?.content && Object.keys(op.requestBody.content).some((m) => m.includes('json')))
      wanted.push(422);
    for (const status of wanted)
      responses[String(status)] ??= sharedErrorResponse(shared, 'Problem', status, PROBLEM_MEDIA);
  }
  if (isPublic && !ownErrors && (op.parameters ?? []).some((p) => p.in === 'path')) {
    responses['404'] ??= sharedErrorResponse(shared, 'Problem', 404, PROBLEM_MEDIA);
  }
  if (!Object.keys(responses).some((s) => s.startsWith('4'))) {
    // A public operation without parameters has one client error left: Node refuses oversized headers.
    responses['431'] = {
      description: 'Request headers are larger than the server accepts (answered by Node, no body)',
    };
  }
  for (const [status, response] of Object.entries(responses)) {
    if ('$ref' in response) continue;
    const code = Number(status);
    const content = response.content as Record<string, Json> | undefined;
    for (const media of Object.values(content ?? {})) media.schema = namer.replace(media.schema);
    const [mediaType, first] = Object.entries(content ?? {})[0] ?? [];
    const shape = refName(first?.schema);
    if (code >= 400 && shape && mediaType) {
      const generic =
        response.description === 'Default Response' ||
        response.description === namer.definitions[shape]?.description;
      const errorMedia = shape === 'Problem' ? PROBLEM_MEDIA : mediaType;
      if (generic) {
        responses[status] = sharedErrorResponse(shared, shape, code, errorMedia);
        continue;
      }
      const example = ERROR_EXAMPLES[shape]?.(code);
      if (example) response.content = { [errorMedia]: { schema: schemaRef(shape), example } };
    }
    for (const media of Object.values(content ?? {})) {
      const wrapper = wrapperName(media.schema);
      if (wrapper) {
        namer.definitions[wrapper] ??= media.schema as Json;
        media.schema = schemaRef(wrapper);
      }
      exemplify(media, maker, namer.definitions);
    }
    if (response.description === 'Default Response' || !response.description) {
      response.description =
        code >= 400
          ? (ERROR_RESPONSES[code]?.[1] ?? STATUS_CODES[code] ?? 'Error')
          : successDescription(status, first?.schema, op);
    }
  }
}

/**
 * A parameter used by two operations or more, in its most common form, is kept once in
 * `components.parameters` (e.g. `integration_id` in the path, `limit` and `cursor` of lists).
 */
function shareParameters(ops: Operation[]): Json {
  const counts = new Map<string, { count: number; param: Json }>();
  const keyOf = (p: Json) => JSON.stringify(p);
  for (const op of ops) {
    for (const p of (op.parameters ?? []) as unknown as Json[]) {
      const entry = counts.get(keyOf(p)) ?? { count: 0, param: p };
      entry.count += 1;
      counts.set(keyOf(p), entry);
    }
  }
  const chosen = new Map<string, string>();
  const shared: Json = {};
  const byUse = [...counts.entries()].sort((a, b) => b[1].count - a[1].count);
  for (const [key, { count, param }] of byUse) {
    if (count < 2) break;
    const name = `${param.in === 'path' ? '' : param.in}${String(param.name)}`.replace(
      /[^A-Za-z0-9_.-]/g,
      '_',
    );
    if (name in shared) continue;
    shared[name] = param;
    chosen.set(key, name);
  }
  for (const op of ops) {
    if (!op.parameters) continue;
    op.parameters = (op.parameters as unknown as Json[]).map((p) => {
      const name = chosen.get(keyOf(p));
      return name ? { $ref: `#/components/parameters/${name}` } : p;
    }) as never;
  }
  return shared;
}

/**
 * `anyOf: [{type: T, …}, {type: null}]` (TypeBox's Nullable) written as `type: [T, null]`: the same
 * schema in JSON Schema 2020-12, a third of the size, and what generators read best.
 */
function compactNullables(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compactNullables);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === 'example' || k === 'examples' || k === 'enum' || k === 'const' || k === 'default'
        ? v
        : compactNullables(v);
  }
  const anyOf = out.anyOf;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return out;
  const [a, b] = anyOf as Json[];
  const [value, nil] = b?.type === 'null' && Object.keys(b).length === 1 ? [a, b] : [b, a];
  if (nil?.type !== 'null' || Object.keys(nil).length !== 1 || typeof value?.type !== 'string') return out;
  if (value.type === 'object' || value.type === 'array' || 'enum' in value || 'const' in value) return out;
  const { anyOf: _drop, ...rest } = out;
  return { ...rest, ...value, type: [value.type, 'null'] };
}

/** The transformObject of @fastify/swagger. */
export function finishDocument({ openapiObject }: { openapiObject: Json }): Json {
  const doc = openapiObject as Json & {
    paths: Record<string, Json>;
    components: { schemas: Record<string, Json>; responses?: Json };
    tags?: unknown[];
  };
  const namer = new SchemaNamer(doc.components.schemas);
  const maker = new ExampleMaker(namer.definitions);
  const usedTags = new Set<string>();
  const shared: Json = {};
  for (const [path, , op] of operationsOf(doc.paths)) {
    for (const tag of op.tags ?? []) usedTags.add(tag);
    for (const media of Object.values(op.requestBody?.content ?? {})) {
      media.schema = namer.replace(media.schema);
      const own = op.operationId ? REQUEST_EXAMPLES[op.operationId] : undefined;
      if (own !== undefined && !('example' in media)) media.example = own;
      exemplify(media, maker, namer.definitions);
    }
    describeResponses(path, op, { maker, namer, responses: shared });
  }
  (doc.components as Json).parameters = shareParameters(operationsOf(doc.paths).map(([, , op]) => op));
  doc.components.responses = Object.fromEntries(
    Object.entries(shared).sort(([a], [b]) => a.localeCompare(b)),
  );
  const used = usedSchemas(doc.paths, namer.definitions, doc.components.responses);
  doc.components.schemas = Object.fromEntries(
    Object.entries(namer.definitions)
      .filter(([name]) => used.has(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  doc.components.schemas = compactNullables(doc.components.schemas) as Record<string, Json>;
  doc.paths = compactNullables(doc.paths) as Record<string, Json>;
  doc.tags = TAGS.filter((t) => usedTags.has(t.name));
  return doc;
}
