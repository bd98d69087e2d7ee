import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates DCI requests and responses against the Social Registry contract, the OpenAPI file
 * loaded exactly as published (docs/decisions/0060-dci-contract-validation.md). Its known defects
 * are handled by configuring the validator, never by editing the file:
 * - `$ref`s that point into `example` subtrees and deep `properties` paths resolve as JSON
 *   pointers (the document is registered whole; schema validation of the document is off);
 * - OpenAPI keywords that are not JSON Schema (`example`, `x-*`, `deprecated`…) are ignored
 *   (strict mode off), `format: int32`/`binary` come from ajv-formats;
 * - `date-time` requires a time zone, as the spec's text says (ajv-formats' full mode);
 * - operations declare no 200: the `default` response applies to every status without its own.
 */

const SPEC_URL = new URL('./dci-spec/social_api_v1.0.0.yaml', import.meta.url);
export const SPEC_SHA256 = '29c8289738cb7782909937121ee1b48212de3d6169c7aa30eef3c69fc78216bb';

type Spec = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};

let loaded: { ajv: Ajv; spec: Spec; cache: Map<string, ValidateFunction> } | null = null;

function load() {
  if (loaded) return loaded;
  const text = fs.readFileSync(SPEC_URL);
  const sha = createHash('sha256').update(text).digest('hex');
  if (sha !== SPEC_SHA256) throw new Error(`the DCI contract file changed (sha256 ${sha})`);
  const spec = parse(text.toString('utf8')) as Spec;
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, validateFormats: true });
  addFormats.default(ajv, { mode: 'full' });
  ajv.addSchema(spec as object, 'dci');
  loaded = { ajv, spec, cache: new Map() };
  return loaded;
}

const pointerEscape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** The contract's path for a Hearth URL: `/dci/registry/sync/search` → `/registry/sync/search`. */
export function specPath(url: string): string {
  const path = url.split('?')[0].replace(/^\/dci/, '');
  const { spec } = load();
  if (!spec.paths[path]) throw new Error(`the DCI contract has no path ${path}`);
  return path;
}

function validator(pointer: string): ValidateFunction {
  const l = load();
  let v = l.cache.get(pointer);
  if (!v) {
    v = l.ajv.compile({ $ref: `dci#${pointer}` });
    l.cache.set(pointer, v);
  }
  return v;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
}

/** Errors of a request body against the contract (empty: valid). */
export function requestErrors(url: string, body: unknown): string[] {
  const path = specPath(url);
  const v = validator(`/paths/${pointerEscape(path)}/post/requestBody/content/application~1json/schema`);
  return v(body) ? [] : describe(v.errors).split('\n');
}

/** Errors of a response body for a status (the status's own response, else `default`). */
export function responseErrors(url: string, status: number, body: unknown): string[] {
  const path = specPath(url);
  const { spec } = load();
  const responses = spec.paths[path].post.responses;
  const key = Object.hasOwn(responses, String(status)) ? String(status) : 'default';
  const response = responses[key] as { $ref?: string };
  const base = response.$ref
    ? response.$ref.slice(1)
    : `/paths/${pointerEscape(path)}/post/responses/${pointerEscape(key)}`;
  const v = validator(`${base}/content/application~1json/schema`);
  return v(body) ? [] : describe(v.errors).split('\n');
}

/** Throws unless the request body satisfies the contract. */
export function assertValidRequest(url: string, body: unknown): void {
  const errors = requestErrors(url, body);
  if (errors.length > 0) throw new Error(`request to ${url} breaks the DCI contract:\n${errors.join('\n')}`);
}

/** Throws unless the response body satisfies the contract for its status. */
export function assertValidResponse(url: string, status: number, body: unknown): void {
  const errors = responseErrors(url, status, body);
  if (errors.length > 0) {
    throw new Error(
      `response ${status} of ${url} breaks the DCI contract:\n${errors.join('\n')}\n${JSON.stringify(body)}`,
    );
  }
}

/**
 * A callback we send (on-search, notify…) is a request to the caller's endpoint: it must satisfy
 * the contract's request schema of that path.
 */
export function assertValidCallback(action: string, body: unknown): void {
  const path = {
    'on-search': '/registry/on-search',
    'txn-on-status': '/registry/txn/on-status',
    'on-subscribe': '/registry/on-subscribe',
    'on-unsubscribe': '/registry/on-unsubscribe',
    notify: '/registry/notify',
  }[action];
  if (!path) throw new Error(`no callback path for action ${action}`);
  assertValidRequest(path, body);
}

/** Errors of a value against a named component schema of the contract (e.g. `MsgHeader_V1.0.0`). */
export function componentErrors(name: string, value: unknown): string[] {
  const v = validator(`/components/schemas/${pointerEscape(name)}`);
  return v(value) ? [] : describe(v.errors).split('\n');
}
