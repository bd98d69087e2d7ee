import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from 'typebox';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, removeAdditional: false });
addFormats.default(ajv);
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Validates a value against a TypeBox schema (no coercion, unknown fields refused); null: valid. */
export function schemaErrors(schema: TSchema, value: unknown): ErrorObject[] | null {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema as object);
    compiled.set(schema, v);
  }
  return v(value) ? null : [...(v.errors ?? [])];
}

/** The dotted path an ajv error points at (a missing or unknown property included). */
export function errorPath(e: ErrorObject, prefix = ''): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  if (e.keyword === 'required' && params.missingProperty) parts.push(params.missingProperty);
  if (e.keyword === 'additionalProperties' && params.additionalProperty)
    parts.push(params.additionalProperty);
  const path = parts.reduce(
    (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    '',
  );
  return prefix ? (path ? `${prefix}.${path}` : prefix) : path;
}

/** A readable message of an ajv error. */
export function errorMessage(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'enum') {
    return `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`;
  }
  return e.message ?? 'is invalid';
}
