import { type Static, Type } from 'typebox';
import { Body, DateTime, Nullable, PageQuery, Uuid } from '../http/schemas.js';

export const EXCHANGE_FORMATS = ['json', 'csv', 'xml'] as const;
export type ExchangeFormat = (typeof EXCHANGE_FORMATS)[number];
export const EXCHANGE_STATUSES = ['accepted', 'running', 'completed', 'failed'] as const;
export type ExchangeStatus = (typeof EXCHANGE_STATUSES)[number];
export const EXCHANGE_DIRECTIONS = ['push', 'pull'] as const;
export const EXCHANGE_DELIVERIES = ['inline', 'file'] as const;
export type ExchangeDelivery = (typeof EXCHANGE_DELIVERIES)[number];
export const RECORD_OUTCOMES = ['created', 'updated', 'rejected'] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

/** Largest inline pull page; larger results are read page by page with next_cursor, or as a file. */
export const PULL_MAX_LIMIT = 100_000;
export const PULL_DEFAULT_LIMIT = 1_000;

const FormatSchema = Type.Enum(EXCHANGE_FORMATS);
export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'makes the push happen once: a retry returns the original exchange',
});

export const ExchangeParams = Type.Object({ integration_id: Uuid() }, { additionalProperties: false });
export const ExchangeItemParams = Type.Object(
  { integration_id: Uuid(), exchange_id: Uuid() },
  { additionalProperties: false },
);

export const PullQuery = Type.Object(
  {
    contract_id: Uuid('an active contract of this integration, in its window'),
    format: Type.Optional(
      Type.Enum(EXCHANGE_FORMATS, {
        default: 'json',
        description:
          'json: `{exchange_id, status, payload, next_cursor}`; csv: RFC 4180 text with a header row; ' +
          'xml: `<records><record>…</record></records>`',
      }),
    ),
    updated_since: Type.Optional(DateTime('filter: persons changed at or after this instant')),
    geo_id: Type.Optional(Uuid('filter: persons in this geo area or its descendants')),
    status: Type.Optional(
      Type.Enum(['provisional', 'verified'], {
        description: 'filter: verification status (archived persons are never exported)',
      }),
    ),
    vertical_id: Type.Optional(
      Uuid('filter: persons with an active consent in this vertical (one of the integration’s)'),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: PULL_MAX_LIMIT,
        description:
          `records per page (≤ ${PULL_MAX_LIMIT}; ${PULL_DEFAULT_LIMIT} when omitted); the page streams. ` +
          'With delivery=file the file holds every record when omitted',
      }),
    ),
    cursor: PageQuery.cursor,
    delivery: Type.Optional(
      Type.Enum(EXCHANGE_DELIVERIES, {
        default: 'inline',
        description:
          'inline: the page streams in the response; file: the pull runs in the background and the ' +
          'answer is 202 `{exchange_id, status, output_file_ref}`; GET output_file_ref once the ' +
          'exchange is completed',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PullQuery = Static<typeof PullQuery>;

export type PullFilters = {
  updated_since?: string;
  geo_id?: string;
  status?: 'provisional' | 'verified';
  vertical_id?: string;
};

export const PullJson = Type.Object(
  {
    exchange_id: Uuid(),
    status: Type.Literal('completed'),
    payload: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      description:
        'one object per person with exactly the contract’s field_list (household.* fields nested ' +
        'under `household`; `memberships` and `relationships` as lists) and masked_fields naming ' +
        'what consent or classification withheld',
    }),
    next_cursor: Nullable(Type.String()),
  },
  { description: 'format=json' },
);

export const PullFileAccepted = Type.Object(
  {
    exchange_id: Uuid(),
    status: Type.Enum(EXCHANGE_STATUSES, { description: 'accepted: the file is being written' }),
    output_file_ref: Type.String({
      description:
        'where the file is fetched (authenticated GET by the same integration) once the exchange ' +
        'is completed; 409 before',
      examples: ['/api/v1/integrations/{integration_id}/exchanges/{exchange_id}/output'],
    }),
  },
  { description: 'delivery=file' },
);
export type PullFileAccepted = Static<typeof PullFileAccepted>;

export const PUSH_JSON_EXAMPLE = [
  { identity_type: 'national_id', identity_number: '19840101-1234', full_name: 'Amina Otieno' },
];

export const PushBody = Body({
  contract_id: Uuid('an active contract of this integration, in its window'),
  format: FormatSchema,
  payload: Type.Union(
    [
      Type.Array(Type.Record(Type.String(), Type.Unknown()), {
        minItems: 1,
        description: 'format json: records with identity_type, identity_number and field_list fields',
        examples: [PUSH_JSON_EXAMPLE],
      }),
      Type.String({
        minLength: 1,
        description:
          'format csv: RFC 4180 text whose header row names identity_type, identity_number and field_list ' +
          'fields (lists and objects as JSON text); format xml: `<records><record><identity_type>…' +
          '</identity_type>…</record></records>`, no DOCTYPE or entity declarations',
      }),
    ],
    { description: 'the records: an array for json, a text for csv and xml' },
  ),
  idempotency_key: Type.Optional(IdempotencyKey),
});
export type PushBody = Static<typeof PushBody>;

export const PushAccepted = Type.Object({
  exchange_id: Uuid(),
  status: Type.Enum(EXCHANGE_STATUSES, {
    description: 'accepted; a replayed idempotent push reports the original’s current status',
  }),
  received_at: DateTime(),
});
export type PushAccepted = Static<typeof PushAccepted>;

export const Exchange = Type.Object({
  exchange_id: Uuid(),
  tenant_id: Uuid(),
  integration_id: Uuid(),
  contract_id: Nullable(Uuid()),
  requested_contract_id: Nullable(Type.String()),
  direction: Type.Enum(EXCHANGE_DIRECTIONS),
  status: Type.Enum(EXCHANGE_STATUSES),
  format: Nullable(FormatSchema),
  idempotency_key: Nullable(Type.String()),
  client_id: Nullable(Type.String({ description: 'the API client that called' })),
  correlation_id: Nullable(Type.String()),
  data_categories: Type.Array(Type.String()),
  filters: Type.Record(Type.String(), Type.Unknown()),
  consent_checks: Type.Record(Type.String(), Type.Unknown(), {
    description: 'the consent rules applied: purpose, required verticals, grace allowed',
  }),
  records_received: Type.Integer(),
  records_created: Type.Integer(),
  records_updated: Type.Integer(),
  records_rejected: Type.Integer(),
  records_returned: Type.Integer(),
  next_cursor: Nullable(Type.String()),
  error: Nullable(Type.Object({ code: Type.String(), detail: Nullable(Type.String()) })),
  received_at: DateTime(),
  started_at: Nullable(DateTime()),
  completed_at: Nullable(DateTime()),
  delivery: Type.Enum(EXCHANGE_DELIVERIES, { description: 'file: a pull whose output is fetched later' }),
  output_file_ref: Nullable(
    Type.String({ description: 'file pulls: where the output is fetched once completed' }),
  ),
  output_bytes: Nullable(Type.Integer({ description: 'file pulls: size of the output once completed' })),
  output_expires_at: Nullable(DateTime('file pulls: the output is deleted after this instant')),
});
export type Exchange = Static<typeof Exchange>;

export const RecordResult = Type.Object({
  record: Type.Integer({ description: 'position in the payload, from 1' }),
  outcome: Nullable(Type.Enum(RECORD_OUTCOMES, { description: 'null while not yet processed' })),
  person_id: Nullable(Uuid()),
  version_id: Nullable(Type.Integer()),
  errors: Nullable(
    Type.Array(
      Type.Object({ field: Type.String(), message: Type.String(), code: Type.Optional(Type.String()) }),
    ),
  ),
  processed_at: Nullable(DateTime()),
});
export type RecordResult = Static<typeof RecordResult>;

export const ExchangeDetail = Type.Intersect([
  Exchange,
  Type.Object({
    results: Type.Object({
      data: Type.Array(RecordResult),
      next_cursor: Nullable(Type.String({ description: 'pass as results_cursor for more results' })),
    }),
  }),
]);

export const ExchangeListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(EXCHANGE_STATUSES)),
    direction: Type.Optional(Type.Enum(EXCHANGE_DIRECTIONS)),
    since: Type.Optional(DateTime('exchanges received at or after this instant')),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type ExchangeListQuery = Static<typeof ExchangeListQuery>;

export const ExchangeDetailQuery = Type.Object(
  {
    outcome: Type.Optional(Type.Enum(RECORD_OUTCOMES)),
    results_limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    results_cursor: PageQuery.cursor,
  },
  { additionalProperties: false },
);
export type ExchangeDetailQuery = Static<typeof ExchangeDetailQuery>;
