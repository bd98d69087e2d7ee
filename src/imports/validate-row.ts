import type { ErrorObject } from 'ajv';
import type { Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { createValidatorCompiler, validationProblem } from '../http/validation.js';
import { uuidv7 } from '../lib/ids.js';
import { findUnstorable } from '../lib/storable.js';
import {
  birthOf,
  checkReferences,
  type InputDeps,
  normalizeContacts,
  normalizeIdentities,
  rule,
} from '../registry/person-input.js';
import type { NormalizedIdentity } from '../registry/person-repo.js';
import { type PersonCreate, PersonCreate as PersonCreateSchema } from '../registry/person-schemas.js';
import { columnOf, type MappedRow, mapCsvRow } from './columns.js';
import type { RawRow } from './upload.js';

export type OnDuplicate = 'reject' | 'skip' | 'update';

/** A row that passed every per-row check, normalised as POST /persons stores it. */
export interface StagedRow {
  row: number;
  personId: string;
  fullName: string;
  givenName: string | null;
  familyName: string | null;
  additionalName: string | null;
  dateOfBirth: string;
  birthDateEstimated: boolean;
  gender: string;
  birthPlace: string | null;
  /** JSON text or null. */
  address: string | null;
  geoId: string | null;
  householdId: string | null;
  relationshipType: string | null;
  /** JSON text. */
  extensions: string;
  /** JSON text: [{type, value, key, primary}]. */
  contacts: string;
  fields: string[];
  identities: NormalizedIdentity[];
  /** Where each identity's number was given (CSV column or JSON path). */
  identityFields: string[];
}

export interface RowError {
  row: number;
  field: string;
  code: string;
  message: string;
}

export interface RowContext {
  tenantId: string;
  deps: InputDeps;
  /** Reference lookups (vocabularies, geo areas, extension schemas), memoised for the run. */
  q: Queryable;
  defaultPhoneCountry: string | undefined;
  onDuplicate: OnDuplicate;
  header: readonly string[] | null;
  resolveGeoCode(code: string): Promise<string | null>;
}

type BodyValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The very validator POST /persons runs on its body (same schema, same Ajv options). */
const validateBody = createValidatorCompiler()({
  schema: PersonCreateSchema,
  httpPart: 'body',
  method: 'POST',
  url: '/api/v1/persons',
}) as BodyValidator;

const INVALID_UTF8 = '\uFFFD';
const ENCODING_MESSAGE = 'is not valid UTF-8 text (the file must be UTF-8 encoded)';

type Located = Pick<MappedRow, 'contactColumns' | 'identitySlots'> | null;

function errorsOf(err: unknown, row: number, where: Located): RowError[] {
  if (!(err instanceof AppError)) throw err;
  const field = (path: string) => (where ? columnOf(path, where) : path);
  if (!err.errors || err.errors.length === 0) {
    return [{ row, field: '(row)', code: err.code, message: err.message }];
  }
  return err.errors.map((e) => ({
    row,
    field: field(e.field),
    code: e.code ?? err.code,
    message: e.message,
  }));
}

/** The field naming the number of identity `ord` as normalizeIdentities ordered them. */
function identityField(body: PersonCreate, ord: number, where: Located): string {
  const shorthand = body.identity_type !== undefined && body.identity_number !== undefined;
  if (shorthand && ord === 0) return 'identity_number';
  const path = `identities[${shorthand ? ord - 1 : ord}].identity_number`;
  return where ? columnOf(path, where) : path;
}

/** The row as a person input: CSV cells mapped by the header, or an NDJSON line parsed. */
async function inputOf(
  ctx: RowContext,
  [row, content]: RawRow,
): Promise<{ input: Record<string, unknown>; where: Located } | RowError[]> {
  if (typeof content === 'string') {
    if (content.includes(INVALID_UTF8))
      return [{ row, field: '(row)', code: 'ERR_VAL_INVALID_FORMAT', message: ENCODING_MESSAGE }];
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch {
      return [{ row, field: '(row)', code: 'ERR_MALFORMED_BODY', message: 'is not valid JSON' }];
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return [{ row, field: '(row)', code: 'ERR_VAL_INVALID_FORMAT', message: 'must be a JSON object' }];
    }
    return { input: parsed as Record<string, unknown>, where: null };
  }
  const header = ctx.header ?? [];
  if (content.length !== header.length) {
    return [
      {
        row,
        field: '(row)',
        code: 'ERR_VAL_INVALID_FORMAT',
        message: `has ${content.length} columns, the header has ${header.length}`,
      },
    ];
  }
  const badCells = header.filter((_, i) => content[i].includes(INVALID_UTF8));
  if (badCells.length > 0) {
    return badCells.map((field) => ({
      row,
      field,
      code: 'ERR_VAL_INVALID_FORMAT',
      message: ENCODING_MESSAGE,
    }));
  }
  const mapped = mapCsvRow(header, content);
  if (mapped.cellErrors.length > 0) {
    return mapped.cellErrors.map((e) => ({ row, ...e, code: 'ERR_VAL_INVALID_FORMAT' }));
  }
  if (mapped.geoCode !== null) {
    if (mapped.input.geo_id !== undefined) {
      return [
        {
          row,
          field: 'geo_code',
          code: 'ERR_VAL_RULE_VIOLATION',
          message: 'give geo_id or geo_code, not both',
        },
      ];
    }
    const id = await ctx.resolveGeoCode(mapped.geoCode);
    if (!id) {
      return [
        {
          row,
          field: 'geo_code',
          code: 'ERR_VAL_RULE_VIOLATION',
          message: 'no geo area with this code in this tenant',
        },
      ];
    }
    mapped.input.geo_id = id;
  }
  return { input: mapped.input, where: mapped };
}

/**
 * One row through the checks of POST /persons: the request schema, birth date rules, vocabularies,
 * geo area, extensions, identity and contact normalisation. Identity uniqueness, duplicates inside
 * the file and household references are checked set-wise afterwards (see checks.ts).
 */
export async function validateRow(ctx: RowContext, raw: RawRow): Promise<StagedRow | RowError[]> {
  const row = raw[0];
  const got = await inputOf(ctx, raw);
  if (Array.isArray(got)) return got;
  const { input, where } = got;
  // PostgreSQL stores no NUL character and the request guard never sees a streamed row: the row
  // is refused here, like POST /persons refuses such a body, instead of failing the run's insert.
  const unstorable = findUnstorable(input);
  if (unstorable) {
    const field = where ? columnOf(unstorable.field, where) : unstorable.field;
    return [{ row, field: field || '(row)', code: unstorable.code, message: unstorable.message }];
  }
  if (!validateBody(input)) return errorsOf(validationProblem(validateBody.errors ?? [], 'body'), row, where);
  const body = input as PersonCreate;
  try {
    const birth = birthOf(body);
    await checkReferences(ctx.q, ctx.deps, ctx.tenantId, body);
    const identities = await normalizeIdentities(ctx.q, ctx.deps, ctx.tenantId, body);
    const contacts = await normalizeContacts(
      ctx.q,
      ctx.deps,
      ctx.tenantId,
      body.contacts,
      ctx.defaultPhoneCountry,
    );
    if (body.household_id) {
      await ctx.deps.vocabularies.assertCode(
        ctx.q,
        ctx.tenantId,
        'membership-role',
        body.relationship_type ?? 'member',
        'relationship_type',
      );
    } else if (body.relationship_type !== undefined) {
      throw rule('relationship_type', 'only applies with household_id');
    }
    if (identities.length === 0 && ctx.onDuplicate !== 'reject') {
      throw new AppError('ERR_VAL_MISSING_FIELD', 'an identity is required', {
        errors: [
          {
            field: where ? 'identities[0].identity_number' : 'identities',
            message: `an identity is required to recognise an existing person (on_duplicate=${ctx.onDuplicate})`,
          },
        ],
      });
    }
    return {
      row,
      personId: uuidv7(),
      fullName: body.full_name.trim(),
      givenName: body.given_name ?? null,
      familyName: body.family_name ?? null,
      additionalName: body.additional_name ?? null,
      dateOfBirth: birth.date,
      birthDateEstimated: birth.estimated,
      gender: body.gender,
      birthPlace: body.birth_place ?? null,
      address: body.address ? JSON.stringify(body.address) : null,
      geoId: body.geo_id ?? null,
      householdId: body.household_id ?? null,
      relationshipType: body.household_id ? (body.relationship_type ?? 'member') : null,
      extensions: JSON.stringify(body.extensions ?? {}),
      contacts: JSON.stringify(contacts),
      fields: Object.keys(body).filter((k) => !['identity_type', 'identity_number'].includes(k)),
      identities,
      identityFields: identities.map((_, ord) => identityField(body, ord, where)),
    };
  } catch (err) {
    return errorsOf(err, row, where);
  }
}

/**
 * Reference reads through one map for the whole run: the rules still run on every row, the
 * database is asked once per distinct question (the same gender code, the same geo area).
 */
export class MemoQueryable implements Queryable {
  private readonly memo = new Map<string, { rows: unknown[]; rowCount: number }>();
  private inner: Queryable | null = null;

  constructor(private readonly limit = 50_000) {}

  bind(q: Queryable): this {
    this.inner = q;
    return this;
  }

  async query<R>(text: string, params: readonly unknown[] = []) {
    const key = `${text}\u0000${JSON.stringify(params)}`;
    const hit = this.memo.get(key);
    if (hit) return hit as { rows: R[]; rowCount: number };
    if (!this.inner) throw new Error('MemoQueryable used before bind()');
    const res = await this.inner.query<R>(text, params);
    if (this.memo.size >= this.limit) this.memo.clear();
    this.memo.set(key, res);
    return res;
  }
}
