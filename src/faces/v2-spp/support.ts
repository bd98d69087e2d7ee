import type { ErrorObject } from 'ajv';
import type { TSchema } from 'typebox';
import type { Actor } from '../../auth/principal.js';
import { AppError } from '../../http/errors.js';
import { createValidatorCompiler, validationProblem } from '../../http/validation.js';
import type { Comparator } from '../../registry/person-filter-search.js';
import { badRequest, V2_BASE } from './identifiers.js';
import type { Labels } from './individual-mapping.js';
import { v2ScopeOfRoute } from './scopes.js';
import type { Domain } from './unit-of-work.js';

/** What one V2 operation answers: the status, the resource and its headers. */
export interface Outcome<R = unknown> {
  status: number;
  resource: R;
  location?: string;
  etag?: string;
}

export const etag = (versionId: number | string) => `"${versionId}"`;

/** A version mismatch on this face is a 409 (OpenSPP clients expect a conflict), code unchanged. */
export function versionConflict(current: number, expected: number): AppError {
  return new AppError('ERR_PRECONDITION_FAILED', `meta.versionId is ${current}, not ${expected}`, {
    status: 409,
    extra: { current_version_id: String(current) },
  });
}

/** The version an If-Match header (or a bundle entry's ifMatch) names: `"3"`, `W/"3"` or `3`. */
export function ifMatchOf(raw: string | undefined, field = 'If-Match'): number | undefined {
  if (raw === undefined || raw === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m) throw badRequest(field, 'must name a meta.versionId, e.g. "3"');
  return Number(m[1]);
}

const compile = createValidatorCompiler();
const validators = new WeakMap<TSchema, (v: unknown) => boolean>();

/** Validates a value against a body schema (merged patches, bundle entries): 422 like any body. */
export function validate<T>(schema: TSchema, value: unknown, prefix = ''): T {
  let fn = validators.get(schema);
  if (!fn) {
    fn = compile({ schema, httpPart: 'body', method: 'POST', url: '' }) as (v: unknown) => boolean;
    validators.set(schema, fn);
  }
  if (fn(value)) return value as T;
  const errors = (fn as unknown as { errors: ErrorObject[] }).errors ?? [];
  const problem = validationProblem(errors, 'body');
  if (!prefix) throw problem;
  throw new AppError(problem.code, `${prefix}: ${problem.message}`, {
    status: problem.status,
    errors: problem.errors?.map((e) => ({ ...e, field: `${prefix}.${e.field}` })),
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON Merge Patch (RFC 7396): null removes a member, objects merge, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export async function labelsOf(d: Domain, actor: Actor): Promise<Labels> {
  const map = async (vocabulary: string) =>
    new Map((await d.vocabularies.codes(actor, vocabulary, true)).map((c) => [c.code, c.display]));
  return { gender: await map('gender'), role: await map('membership-role') };
}

const PREFIXED = /^(eq|ne|gt|ge|lt|le)?(.*)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** `ge1990-01-01` → a comparator and a date (or an instant); malformed → 400. */
export function prefixed(raw: string, field: string, instant = false): { op: Comparator; value: string } {
  const m = PREFIXED.exec(raw.trim())!;
  const value = m[2];
  const ok = (DATE.test(value) || (instant && DATE_TIME.test(value))) && !Number.isNaN(Date.parse(value));
  if (!ok) {
    throw badRequest(
      field,
      `must be [eq|ne|gt|ge|lt|le]${instant ? 'YYYY-MM-DD or an ISO 8601 instant' : 'YYYY-MM-DD'}`,
    );
  }
  return { op: (m[1] ?? 'eq') as Comparator, value };
}

/** `_sort=name,-birthdate` with the keys a resource allows; an unknown key → 400 (never a silent default). */
export function sortOf<K extends string>(
  raw: string | undefined,
  keys: Record<string, K>,
): { key: K; desc: boolean }[] {
  if (!raw) return [];
  return raw.split(',').map((part) => {
    const p = part.trim();
    const desc = p.startsWith('-');
    const key = keys[desc ? p.slice(1) : p];
    if (!key) throw badRequest('_sort', `sorts by ${Object.keys(keys).join(', ')} (prefix - for descending)`);
    return { key, desc };
  });
}

/** `{data, meta, links}` of a V2 search: links keep every parameter of the request. */
export function searchResult<T>(
  resource: string,
  query: Record<string, unknown>,
  data: T[],
  total: number,
  offset: number,
  count: number,
) {
  const url = (o: number) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === '_offset' || k === '_count' || v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
    }
    params.set('_count', String(count));
    params.set('_offset', String(o));
    return `${V2_BASE}/${resource}?${params.toString()}`;
  };
  return {
    data,
    meta: { total, count: data.length, offset },
    links: {
      self: url(offset),
      next: offset + count < total ? url(offset + count) : null,
      prev: offset > 0 ? url(Math.max(0, offset - count)) : null,
    },
  };
}

/**
 * The provenance a V2 write records when the request names no source system (no
 * `X-Source-System`, none configured on the client): the API client itself, as OpenSPP records
 * `urn:openspp:api-client:{client_id}`. It is what `meta.source` then shows.
 */
export const apiClientSource = (clientId: string) => `urn:hearth:api-client:${clientId}`;

/** The version of the OpenSPP API V2 this face follows, sent as `X-API-Version` on every answer. */
export const V2_API_VERSION = '2.0.0';

/**
 * Errors as this face answers them: a stale version is a 409 here (the code stays the same); a
 * missing scope is named as a V2 scope (`individual:read`), the names the client asked for.
 */
export function v2Error(err: AppError, method = 'GET', routeUrl?: string): AppError {
  const required = err.extra?.required_scope;
  if (err.code === 'ERR_SEC_FORBIDDEN' && typeof required === 'string') {
    const v2 = v2ScopeOfRoute(required, method, routeUrl);
    if (v2 === required) return err;
    return new AppError(err.code, err.message.replace(required, v2), {
      status: err.status,
      errors: err.errors,
      extra: { ...err.extra, required_scope: v2 },
      headers: err.headers,
    });
  }
  if (err.code !== 'ERR_PRECONDITION_FAILED' || err.status === 409) return err;
  return new AppError(err.code, err.message, {
    status: 409,
    errors: err.errors,
    extra: err.extra,
    headers: err.headers,
  });
}
