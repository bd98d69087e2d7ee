import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { AppError, type ErrorCode, type FieldError } from './errors.js';

const base: Options = {
  allErrors: true,
  strict: false,
  useDefaults: true,
  // Unknown body fields are refused, not silently dropped (schemas say additionalProperties: false).
  removeAdditional: false,
  // Keywords TypeBox and OpenAPI carry that validation ignores.
  keywords: ['example', 'x-masked'],
};

function withFormats(ajv: Ajv): Ajv {
  addFormats.default(ajv);
  return ajv;
}

/**
 * Bodies are validated without type coercion ("5" is not 5); query strings, params and headers
 * arrive as text, so they are coerced (and a single value becomes a one-item array).
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodyAjv = withFormats(new Ajv({ ...base, coerceTypes: false }));
  const textAjv = withFormats(new Ajv({ ...base, coerceTypes: 'array' }));
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv;
    return ajv.compile(schema as object);
  };
}

function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function join(parent: string, child: string): string {
  return parent ? `${parent}.${child}` : child;
}

function describe(e: ErrorObject): FieldError & { code: ErrorCode } {
  const at = pointerToField(e.instancePath);
  switch (e.keyword) {
    case 'required': {
      const name = (e.params as { missingProperty: string }).missingProperty;
      return { field: join(at, name), message: 'is required', code: 'ERR_VAL_MISSING_FIELD' };
    }
    case 'additionalProperties': {
      const name = (e.params as { additionalProperty: string }).additionalProperty;
      return { field: join(at, name), message: 'is not a known field', code: 'ERR_VAL_UNKNOWN_FIELD' };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return {
        field: at,
        message: `must be one of: ${allowed.map(String).join(', ')}`,
        code: 'ERR_VAL_INVALID_FORMAT',
      };
    }
    default:
      return { field: at || '(root)', message: e.message ?? 'is invalid', code: 'ERR_VAL_INVALID_FORMAT' };
  }
}

/** Turns Ajv errors into one problem: 422 for bodies, 400 for query strings, params and headers. */
export function validationProblem(errors: ErrorObject[], context: string): AppError {
  // anyOf/oneOf branches repeat the same complaint in several shapes; keep the first per field.
  const seen = new Set<string>();
  const fieldErrors: (FieldError & { code: ErrorCode })[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const d = describe(e);
    const key = `${d.field}|${d.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fieldErrors.push(d);
  }
  if (fieldErrors.length === 0 && errors.length > 0) fieldErrors.push(describe(errors[0]));
  const first = fieldErrors[0];
  const where = context === 'body' ? 'request body' : context;
  const detail =
    fieldErrors.length === 1
      ? `${where}: ${first.field} ${first.message}`
      : `${where} has ${fieldErrors.length} invalid fields`;
  return new AppError(first.code, detail, {
    status: context === 'body' ? 422 : 400,
    errors: fieldErrors.map(({ field, message, code }) => ({ field, message, code })),
  });
}
