import type { FieldError } from '../http/errors.js';
import type { ExchangeFormat } from './exchange-schemas.js';

/** The keys every pushed record is matched by; always allowed, never written as fields. */
export const IDENTITY_KEYS = ['identity_type', 'identity_number'] as const;

/**
 * Contract fields a push may write. Everything else a field_list may name is either computed
 * (person_id, system_guid, birth_date_estimated), governed by its own workflow (status,
 * verification_status, household membership) or a household field: readable, never pushed.
 */
export const PUSH_WRITABLE: readonly string[] = [
  'full_name',
  'given_name',
  'family_name',
  'additional_name',
  'date_of_birth',
  'age_estimate',
  'gender',
  'identities',
  'contacts',
  'birth_place',
  'address',
  'geo_id',
  'extensions',
];

const JSON_FIELDS = new Set(['identities', 'contacts', 'address', 'extensions']);

export interface DecodedRecord {
  identityType: string | null;
  identityNumber: string | null;
  /** Field values in their JSON types, ready for schema validation. */
  fields: Record<string, unknown>;
  errors: FieldError[];
}

function fromText(field: string, text: string, errors: FieldError[]): unknown {
  if (field === 'age_estimate') {
    if (!/^\d{1,3}$/.test(text.trim())) {
      errors.push({ field, message: 'must be a whole number', code: 'ERR_VAL_INVALID_FORMAT' });
      return undefined;
    }
    return Number(text.trim());
  }
  if (JSON_FIELDS.has(field)) {
    try {
      return JSON.parse(text);
    } catch {
      errors.push({ field, message: 'must be JSON text', code: 'ERR_VAL_INVALID_FORMAT' });
      return undefined;
    }
  }
  return text;
}

const bool = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

/** XML lists come as `{contact: [...]}`; contact `primary` comes as text. */
function fromXml(field: string, value: unknown, errors: FieldError[]): unknown {
  if (typeof value === 'string') {
    if (field === 'identities' || field === 'contacts' || field === 'address') {
      errors.push({ field, message: 'must hold child elements', code: 'ERR_VAL_INVALID_FORMAT' });
      return undefined;
    }
    return fromText(field, value, errors);
  }
  const child = field === 'identities' ? 'identity' : field === 'contacts' ? 'contact' : null;
  if (child && typeof value === 'object' && value !== null) {
    const items = (value as Record<string, unknown>)[child];
    if (!Array.isArray(items)) {
      errors.push({ field, message: `must hold <${child}> elements`, code: 'ERR_VAL_INVALID_FORMAT' });
      return undefined;
    }
    return field === 'contacts'
      ? items.map((c) =>
          typeof c === 'object' && c !== null
            ? { ...c, primary: bool((c as { primary?: unknown }).primary) }
            : c,
        )
      : items;
  }
  if (field === 'address') return value;
  errors.push({ field, message: 'must be text', code: 'ERR_VAL_INVALID_FORMAT' });
  return undefined;
}

/**
 * One received record, checked against the contract: identity_type and identity_number are
 * required text; every other key must be in the field_list and writable by a push. CSV and XML
 * values are text and are turned into the JSON types the person schemas expect (lists and
 * objects as JSON text in CSV, as child elements in XML). Errors are collected, not thrown.
 */
export function decodeRecord(
  format: ExchangeFormat,
  raw: Record<string, unknown>,
  fieldList: readonly string[],
): DecodedRecord {
  const errors: FieldError[] = [];
  const fields: Record<string, unknown> = {};
  const text = (key: string): string | null => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') {
      errors.push({ field: key, message: 'is required to match the person', code: 'ERR_VAL_MISSING_FIELD' });
      return null;
    }
    if (typeof v !== 'string') {
      errors.push({ field: key, message: 'must be text', code: 'ERR_VAL_INVALID_FORMAT' });
      return null;
    }
    return v.trim();
  };
  const identityType = text('identity_type');
  const identityNumber = text('identity_number');
  for (const [key, value] of Object.entries(raw)) {
    if ((IDENTITY_KEYS as readonly string[]).includes(key)) continue;
    if (!fieldList.includes(key)) {
      errors.push({ field: key, message: 'is not in the contract’s field_list', code: 'ERR_SEC_FORBIDDEN' });
      continue;
    }
    if (!PUSH_WRITABLE.includes(key)) {
      errors.push({ field: key, message: 'cannot be written by a push', code: 'ERR_VAL_RULE_VIOLATION' });
      continue;
    }
    if (format === 'json') fields[key] = value;
    else if (format === 'csv') fields[key] = fromText(key, String(value), errors);
    else if (value !== '') fields[key] = fromXml(key, value, errors);
  }
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return { identityType, identityNumber, fields, errors };
}
