import { STATUS_CODES } from 'node:http';
import { HAND_EXAMPLES } from './hand-examples.js';

/**
 * Examples for every request body and response of the document, made from the schemas
 * themselves: a hand-written example of a named schema when there is one (hand-examples.ts),
 * else the schema's own `examples`/`default`/`enum`, else a value its property name and format
 * make plausible. Optional properties are left out unless they carry an example, so an example
 * never combines fields the service refuses together. test/openapi.test.ts validates every
 * example against its schema.
 */

type Json = Record<string, unknown>;
const REF_PREFIX = '#/components/schemas/';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Plausible values by property name (only used where the schema accepts them). */
const BY_NAME: Record<string, unknown> = {
  given_name: 'Amina',
  family_name: 'Otieno',
  middle_name: 'Grace',
  name: 'Amina Wanjiru Otieno',
  full_name: 'Amina Wanjiru Otieno',
  display_name: 'Amina Wanjiru Otieno',
  first_name: 'Amina',
  last_name: 'Otieno',
  date_of_birth: '1988-04-12',
  birth_date: '1988-04-12',
  birthdate: '1988-04-12',
  gender: '2',
  capture_mode: 'offline',
  auth_client_id: 'pesa-payments-pull',
  sex: 'female',
  email: 'amina.otieno@example.org',
  phone: '+254712345678',
  phone_number: '+254712345678',
  identity_type: 'national_id',
  identity_number: '27461938',
  number: '27461938',
  country: 'KE',
  country_code: 'KE',
  locale: 'en',
  language: 'en',
  tenant_id: 'demo',
  tenant: 'demo',
  code: 'HEALTH',
  vertical: 'HEALTH',
  verticals: ['HEALTH'],
  reason_code: 'OTHER',
  reason_text: 'Corrected after a field visit',
  purpose: 'Cash transfer eligibility checks',
  partner_name: 'Pesa Payments Ltd',
  url: 'https://partner.example.org/hearth/events',
  target_url: 'https://partner.example.org/hearth/events',
  callback_uri: 'https://partner.example.org/dci/callback',
  sender_uri: 'https://partner.example.org/dci/callback',
  client_id: 'pesa-payments-pull',
  client_secret: 'hs_6bq2XcVfT0pLw1mZr8nYkE4aJ9uD3sGh',
  grant_type: 'client_credentials',
  token_type: 'Bearer',
  access_token:
    'eyJhbGciOiJFZERTQSIsImtpZCI6ImstMjAyNi0wMSJ9.eyJzdWIiOiJwZXNhLXBheW1lbnRzLXB1bGwifQ.c2lnbmF0dXJl',
  expires_in: 3600,
  scope: 'persons:read households:read',
  limit: 50,
  next_cursor: 'WyIwMTkyZjBjNC03YjFlLTdjM2EtOWQyZS01YTFiMmMzZDRlNWYiXQ',
  cursor: 'WyIwMTkyZjBjNC03YjFlLTdjM2EtOWQyZS01YTFiMmMzZDRlNWYiXQ',
  version_id: 3,
  correlation_id: '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
  status: 'active',
  latitude: -1.2921,
  longitude: 36.8219,
  lat: -1.2921,
  lon: 36.8219,
  message_id: 'msg-20260314-0001',
  transaction_id: 'txn-20260314-0001',
  reference_id: 'ref-0001',
  sender_id: 'partner.example.org',
  receiver_id: 'hearth.example.org',
  kid: 'k-2026-01',
  alg: 'EdDSA',
  kty: 'OKP',
  crv: 'Ed25519',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  use: 'sig',
  city: 'Nairobi',
  region: 'Nairobi County',
  postal_code: '00100',
  line1: '12 Moi Avenue',
  address_line: '12 Moi Avenue',
};

/** Plausible values by the shape of a property name, tried after BY_NAME. */
const BY_SUFFIX: [RegExp, string][] = [
  [/(^|_)(at|timestamp|ts)$/, '2026-03-14T09:30:00Z'],
  [/(^|_)(date|from|until|start|end)$|^date_/, '2026-03-14'],
  [/_by$/, 'kisumu-registrar'],
  [/(^|_)reason_code$|_code$/, 'OTHER'],
  [/(_text|notes|reason|description|criteria)$/, 'Recorded after a field visit on 14 March'],
  [/(^|_)(detail|message|error|last_error)$/, 'the receiver answered 503 Service Unavailable'],
  [/(^|_)(system|namespace)$/, 'urn:hearth:vocab:id-type#national_id'],
  [/^(self|next|prev)$/, '/api/v1/persons?limit=50'],
  [/(^|_)(url|uri|endpoint)$/, 'https://partner.example.org/hearth/callback'],
  [/(^|_)ip$/, '203.0.113.7'],
  [/filename$/, 'consent-form.pdf'],
  [/content_type$/, 'application/pdf'],
  [/(^|_)action$/, 'person.update'],
  [/event_type$/, 'person.updated'],
  [/resource_type$|applies_to$|data_category$/, 'person'],
  [/(^|_)role$/, 'registrar'],
  [/field(_list)?$/, 'date_of_birth'],
  [/(^|_)scope$/, 'persons:read'],
  [/key_id$|signed_with$/, 'whk-2026-01'],
  [/idempotency_key$/, 'import-2026-03-14-01'],
  [/(^|_)(phone_no|phone_sanitized)$/, '+254712345678'],
  [/(^|_)age$/, '37'],
  [/household_name$/, 'Otieno household'],
  [/integration_name$|template_name$/, 'Ministry of Health EMR'],
  [/(^|_)(address|addl_name|additional_name|birth_place)$/, 'Kisumu'],
  [/(^|_)(source|source_system|last_update_system)$/, 'kisumu-field-app'],
  [/collection_method$/, 'field_visit'],
  [/relationship_type$/, 'child'],
  [/group_kind$/, 'household'],
  [/(^|_)status/, 'active'],
  [/(^|_)type$/, 'phone'],
  [/(^|_)value$/, '+254712345678'],
  [/(^|_)display$/, 'Female'],
  [/(^|_)text$/, 'Amina Wanjiru Otieno'],
  [/ref$|reference$/, 'ref-2026-0001'],
  [/excerpt$/, '{"received":true}'],
];

const UUIDS = [
  '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
  '0192f0c4-8a2f-7d4b-8e3f-6b2c3d4e5f60',
  '0192f0c4-9b30-7e5c-9f40-7c3d4e5f6071',
];

/** Candidate strings tried against a pattern when nothing better is known. */
const PATTERN_CANDIDATES = [
  'OTHER',
  'HEALTH',
  'national_id',
  'demo',
  'K-2026-01',
  'pmt.poverty_score',
  '+254712345678',
  'urn:hearth:id:person|0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
  '2026-03-14',
  '123456',
  'P-8K2M4Q',
  'abc',
  'a',
  '1',
];

function stringFor(schema: Json, name: string | undefined): string {
  const hinted = name ? BY_NAME[name] : undefined;
  const format = schema.format as string | undefined;
  if (format === 'date-time')
    return name?.includes('until') || name?.includes('expires')
      ? '2027-03-14T09:30:00Z'
      : '2026-03-14T09:30:00Z';
  if (format === 'date') return typeof hinted === 'string' ? hinted : '2026-03-14';
  if (format === 'uuid') return UUIDS[(name?.length ?? 0) % UUIDS.length];
  if (format === 'email') return 'amina.otieno@example.org';
  if (format === 'uri' || format === 'url')
    return typeof hinted === 'string' ? hinted : 'https://partner.example.org/hearth';
  if (format === 'binary') return '<file contents>';
  if (name && /_ids?$/.test(name) && !/(client|public_key|message|transaction|reference)_id$/.test(name)) {
    const uuid = UUIDS[name.length % UUIDS.length];
    if ((schema.maxLength as number | undefined) === undefined || (schema.maxLength as number) >= uuid.length)
      return uuid;
  }
  const bySuffix = name ? BY_SUFFIX.find(([re]) => re.test(name))?.[1] : undefined;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = (schema.maxLength as number | undefined) ?? Number.POSITIVE_INFINITY;
  const fits = (s: string) => s.length >= min && s.length <= max && (!pattern || pattern.test(s));
  const humane = name ? name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ') : 'Example';
  const candidates = [
    typeof hinted === 'string' ? hinted : undefined,
    bySuffix,
    humane,
    ...PATTERN_CANDIDATES,
  ];
  for (const c of candidates) if (c !== undefined && fits(c)) return c;
  return 'x'.repeat(Math.max(min, 1));
}

function numberFor(schema: Json, name: string | undefined): number {
  const hinted = name ? BY_NAME[name] : undefined;
  const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined);
  const max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined);
  let n = typeof hinted === 'number' ? hinted : min !== undefined && min > 0 ? min : 1;
  if (schema.type === 'integer') n = Math.round(n);
  if (max !== undefined && n > max) n = max;
  if (min !== undefined && n < min) n = min;
  return n;
}

export class ExampleMaker {
  constructor(private readonly components: Record<string, unknown>) {}

  /** An example of a schema, or undefined when none can be made (e.g. a binary stream). */
  of(schema: unknown, name?: string, depth = 0): unknown {
    if (!isObject(schema) || depth > 12) return undefined;
    if (typeof schema.$ref === 'string' && schema.$ref.startsWith(REF_PREFIX)) {
      const ref = schema.$ref.slice(REF_PREFIX.length);
      if (ref in HAND_EXAMPLES) return structuredClone(HAND_EXAMPLES[ref]);
      return this.of(this.components[ref], name, depth + 1);
    }
    if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
    if ('example' in schema) return schema.example;
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) {
      const hinted = name ? BY_NAME[name] : undefined;
      return schema.enum.includes(hinted) ? hinted : schema.enum[0];
    }
    if ('default' in schema && schema.default !== undefined) return schema.default;
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = schema[key];
      if (Array.isArray(branches)) {
        // A nullable member is shown unset (as a fresh record has it) unless its name says what it holds.
        const nullable = branches.some((b) => isObject(b) && b.type === 'null');
        if (nullable && depth > 0 && !(name && name in BY_NAME)) return null;
        const branch = branches.find((b) => !(isObject(b) && b.type === 'null')) ?? branches[0];
        return this.of(branch, name, depth + 1);
      }
    }
    if (Array.isArray(schema.allOf)) {
      return Object.assign({}, ...schema.allOf.map((s) => this.of(s, name, depth + 1) as Json));
    }
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
    switch (type) {
      case 'object':
        return this.objectOf(schema, depth);
      case 'array': {
        const item = this.of(schema.items, name ? singularName(name) : undefined, depth + 1);
        if (item === undefined) return [];
        const count = Math.max((schema.minItems as number | undefined) ?? 1, 1);
        return Array.from({ length: count }, () => structuredClone(item));
      }
      case 'string':
        return stringFor(schema, name);
      case 'integer':
      case 'number':
        return numberFor(schema, name);
      case 'boolean':
        return name ? !/^(is_)?(deleted|archived|disabled|masked|replayed)/.test(name) : true;
      case 'null':
        return null;
      default: {
        const hinted = name ? BY_NAME[name] : undefined;
        return hinted ?? (schema.properties ? this.objectOf(schema, depth) : undefined);
      }
    }
  }

  private objectOf(schema: Json, depth: number): Json {
    const out: Json = {};
    const properties = isObject(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    // Required members only: optional ones may exclude each other (date_of_birth or age_estimate).
    for (const [prop, sub] of Object.entries(properties)) {
      if (!required.has(prop)) continue;
      const value = this.of(sub, prop, depth + 1);
      if (value !== undefined) out[prop] = value;
    }
    // A body of optional members only (a patch) shows one change, preferably one with an example.
    const entries = Object.entries(properties);
    if (Object.keys(out).length === 0 && entries.length > 0) {
      const [prop, sub] =
        entries.find(([, v]) => isObject(v) && (Array.isArray(v.examples) || 'example' in v)) ?? entries[0];
      const value = this.of(sub, prop, depth + 1);
      if (value !== undefined) out[prop] = value;
    }
    return out;
  }
}

function singularName(name: string): string {
  return name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.replace(/s$/, '');
}

/** Problem example codes by status: what a client really gets with that status. */
const PROBLEMS: Record<number, [code: string, detail: string, extra?: Json]> = {
  400: [
    'ERR_VAL_INVALID_FORMAT',
    'limit: must be <= 200',
    { errors: [{ field: 'limit', message: 'must be <= 200', code: 'ERR_VAL_INVALID_FORMAT' }] },
  ],
  401: ['ERR_AUTH_INVALID', 'authentication is required'],
  403: ['ERR_SEC_SCOPE_VIOLATION', 'this call needs the scope persons:write'],
  404: ['ERR_NOT_FOUND', 'not found'],
  405: ['ERR_METHOD_NOT_ALLOWED', 'method not allowed'],
  406: ['ERR_NOT_ACCEPTABLE', 'no acceptable representation'],
  409: [
    'ERR_STATE_CONFLICT',
    'cannot archive a person whose status is archived',
    { current_status: 'archived' },
  ],
  410: ['ERR_NOT_FOUND', 'the file is no longer available'],
  412: ['ERR_PRECONDITION_FAILED', 'If-Match names version 2; the current version is 3'],
  413: ['ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the server accepts'],
  414: ['ERR_BAD_REQUEST', 'the request URL is too long'],
  415: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported Content-Type for this route'],
  422: [
    'ERR_VAL_MISSING_FIELD',
    'given_name: is required',
    { errors: [{ field: 'given_name', message: 'is required', code: 'ERR_VAL_MISSING_FIELD' }] },
  ],
  428: ['ERR_PRECONDITION_REQUIRED', 'If-Match is required to change this resource'],
  429: ['ERR_RATE_LIMITED', 'too many requests; retry after 12 s'],
  431: ['ERR_BAD_REQUEST', 'request headers are too large'],
  500: ['ERR_SYS_INTERNAL', 'an internal error occurred; quote the correlation_id'],
  502: ['ERR_SYS_UPSTREAM_DOWN', 'the upstream service did not answer'],
  503: ['ERR_SYS_UNAVAILABLE', 'the database is not reachable'],
};

export function problemExample(status: number, instance = '/api/v1/persons'): Json {
  const [code, detail, extra] = PROBLEMS[status] ?? ['ERR_BAD_REQUEST', STATUS_CODES[status] ?? 'error'];
  return {
    type: `urn:hearth:problem:${code.toLowerCase()}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    correlation_id: '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
    instance,
    ...(extra ?? {}),
  };
}

const G2P_BY_STATUS: Record<number, [string, string, string]> = {
  400: ['G2P-REQ-013', 'Invalid request.', 'request body is not valid JSON'],
  401: ['G2P-REQ-014', 'Authentication failed.', 'authentication is required'],
  403: ['G2P-REQ-015', 'Access denied.', 'this call needs the scope persons:write'],
  404: ['G2P-REQ-010', 'ID/Name not present.', 'individual not found'],
  409: ['G2P-REQ-012', 'ID already registered.', 'ids[0]: this national_id is already registered'],
  413: ['G2P-REQ-013', 'Invalid request.', 'request body is larger than the server accepts'],
  415: ['G2P-REQ-013', 'Invalid request.', 'unsupported Content-Type for this route'],
  422: ['G2P-REQ-008', 'Invalid gender.', 'gender: "x" is not a code of the gender vocabulary'],
  429: ['G2P-REQ-016', 'Too many requests.', 'too many requests; retry after 12 s'],
  500: ['G2P-SRV-001', 'Internal server error.', 'an internal error occurred; quote the correlation_id'],
};

function g2pErrorExample(status: number): Json {
  const [errorCode, message, description] = G2P_BY_STATUS[status] ?? G2P_BY_STATUS[400];
  return {
    error_code: errorCode,
    error_message: message,
    error_description: description,
    code: (PROBLEMS[status] ?? PROBLEMS[400])[0],
    correlation_id: '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
  };
}

/** The DCI face's own refusals by status: its error code and what the message says. */
const DCI_BY_STATUS: Record<number, [string, string]> = {
  400: ['err.request.bad', 'message.search_request[0].search_criteria: is required'],
  401: ['err.request.unauthorized', 'a bearer token is required'],
  403: ['err.request.forbidden', 'this sender may not search this registry'],
  404: ['err.request.not_found', 'no transaction with this correlation_id'],
  409: ['err.request.bad', 'header.message_id: this message was already received'],
  413: ['err.request.bad', 'request body is larger than the server accepts'],
  415: ['err.request.bad', 'unsupported Content-Type for this route'],
  422: ['err.request.bad', 'header.action: must be search'],
  429: ['err.request.too_many_requests', 'too many requests; retry after 12 s'],
  500: ['err.service.unavailable', 'an internal error occurred; quote the correlation_id'],
};

function dciErrorExample(status: number): Json {
  const { type, title, code: problemCode, correlation_id } = problemExample(status, '/dci/registry/search');
  const [code, message] = DCI_BY_STATUS[status] ?? DCI_BY_STATUS[400];
  return {
    type,
    title,
    status,
    detail: message,
    code: problemCode,
    correlation_id,
    errors: [{ code, message }],
    header: {
      version: '1.0.0',
      message_id: '0192f0c4-8a2f-7d4b-8e3f-6b2c3d4e5f60',
      message_ts: '2026-03-14T09:30:00Z',
      action: 'on-search',
      status: 'rjct',
      status_reason_message: message,
      total_count: 1,
      completed_count: 0,
      sender_id: 'hearth.example.org',
      receiver_id: 'partner.example.org',
      is_msg_encrypted: false,
    },
    message: {
      ack_status: 'ERR',
      timestamp: '2026-03-14T09:30:00Z',
      correlation_id,
      error: { code, message },
    },
  };
}

/** Examples of the error shapes by status: each shows what a client really gets with that status. */
export const ERROR_EXAMPLES: Record<string, (status: number) => Json> = {
  Problem: (status) => problemExample(status),
  G2pError: g2pErrorExample,
  DciError: dciErrorExample,
};
