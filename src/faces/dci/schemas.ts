import { type Static, type TSchema, Type } from 'typebox';

/**
 * The DCI Social Registry wire shapes (social_api_v1.0.0, the 11-path OpenSPP copy), as TypeBox
 * schemas. Envelope-level schemas refuse the whole message; item schemas are checked item by
 * item so one bad item of a batch is rejected with its own reason code (items.ts).
 */

/** ISO 8601 with a time zone (ajv-formats' date-time requires one). */
export const DateTimeTz = (description?: string) =>
  Type.String({ format: 'date-time', maxLength: 64, ...(description ? { description } : {}) });

/** transaction_id, correlation_id, subscription codes: at most 99 characters (spec). */
export const Code99 = (description?: string) =>
  Type.String({ minLength: 1, maxLength: 99, ...(description ? { description } : {}) });

export const Locale = Type.String({ pattern: '^[a-z]{3}$', description: 'ISO 639-3, e.g. eng' });

export const MsgHeader = Type.Object(
  {
    version: Type.Optional(Type.String({ maxLength: 20, examples: ['1.0.0'] })),
    message_id: Type.String({ minLength: 1, maxLength: 200 }),
    message_ts: DateTimeTz(),
    action: Type.String({ minLength: 1, maxLength: 50 }),
    sender_id: Type.String({ minLength: 1, maxLength: 200 }),
    sender_uri: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
    receiver_id: Type.Optional(Type.String({ maxLength: 200 })),
    total_count: Type.Integer({ minimum: 0 }),
    is_msg_encrypted: Type.Optional(Type.Boolean()),
    meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false, description: 'MsgHeader_V1.0.0' },
);
export type MsgHeader = Static<typeof MsgHeader>;

/** What the route itself checks; the face validates header and message (envelope.ts). */
export const EnvelopeBody = Type.Object(
  {
    signature: Type.Optional(Type.String({ maxLength: 4096 })),
    header: Type.Record(Type.String(), Type.Unknown(), { description: 'MsgHeader_V1.0.0' }),
    message: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false, description: 'DCI envelope: signature, header, message' },
);
export type EnvelopeBody = Static<typeof EnvelopeBody>;

const Pagination = Type.Object(
  {
    page_size: Type.Integer({ minimum: 1 }),
    page_number: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const SortItem = Type.Object(
  {
    attribute_name: Type.String({ minLength: 1, maxLength: 100 }),
    sort_order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  },
  { additionalProperties: false },
);

const Purpose = Type.Record(Type.String(), Type.Unknown());

export const SearchCriteria = Type.Object(
  {
    version: Type.Optional(Type.String({ maxLength: 20 })),
    reg_type: Type.Optional(Type.String({ maxLength: 200 })),
    reg_record_type: Type.Optional(Type.String({ maxLength: 200 })),
    // The January 2025 release carried reg_event_type here: accepted and ignored.
    reg_event_type: Type.Optional(Type.String({ maxLength: 200 })),
    query_type: Type.Union([
      Type.Literal('idtype-value'),
      Type.Literal('expression'),
      Type.Literal('predicate'),
    ]),
    response_entity: Type.Optional(Type.Union([Type.Literal('Group'), Type.Literal('Member')])),
    query: Type.Unknown(),
    sort: Type.Optional(Type.Array(SortItem, { maxItems: 5 })),
    pagination: Type.Optional(Pagination),
    consent: Type.Optional(Purpose),
    authorize: Type.Optional(Purpose),
  },
  { additionalProperties: false },
);
export type SearchCriteria = Static<typeof SearchCriteria>;

export const SearchItem = Type.Object(
  {
    reference_id: Code99(),
    timestamp: DateTimeTz(),
    search_criteria: SearchCriteria,
    locale: Type.Optional(Locale),
    // Clients also put pagination beside search_criteria: read from either place.
    pagination: Type.Optional(Pagination),
  },
  { additionalProperties: false },
);
export type SearchItem = Static<typeof SearchItem>;

export const SearchMessage = Type.Object(
  {
    transaction_id: Code99(),
    search_request: Type.Array(Type.Unknown(), { minItems: 1 }),
  },
  { additionalProperties: false, description: 'SearchRequest' },
);

export const SubscribeCriteria = Type.Object(
  {
    version: Type.Optional(Type.String({ maxLength: 20 })),
    reg_type: Type.Optional(Type.String({ maxLength: 200 })),
    reg_event_type: Type.String({ minLength: 1, maxLength: 200 }),
    frequency: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    filter_type: Type.Optional(
      Type.Union([
        Type.Literal('idtype-value'),
        Type.Literal('expression'),
        Type.Literal('predicate'),
        Type.Literal('graphql'),
      ]),
    ),
    filter: Type.Unknown(),
    notify_record_type: Type.String({ minLength: 1, maxLength: 200 }),
    authorize: Type.Optional(Purpose),
  },
  { additionalProperties: false },
);
export type SubscribeCriteria = Static<typeof SubscribeCriteria>;

export const SubscribeItem = Type.Object(
  {
    reference_id: Code99(),
    timestamp: DateTimeTz(),
    subscribe_criteria: SubscribeCriteria,
    locale: Type.Optional(Locale),
  },
  { additionalProperties: false },
);
export type SubscribeItem = Static<typeof SubscribeItem>;

export const SubscribeMessage = Type.Object(
  {
    transaction_id: Code99(),
    subscribe_request: Type.Array(Type.Unknown(), { minItems: 1 }),
  },
  { additionalProperties: false, description: 'SubscribeRequest' },
);

export const UnsubscribeMessage = Type.Object(
  {
    transaction_id: Code99(),
    timestamp: DateTimeTz(),
    subscription_codes: Type.Array(Code99(), { minItems: 1 }),
  },
  { additionalProperties: false, description: 'UnSubscribeRequest' },
);
export type UnsubscribeMessage = Static<typeof UnsubscribeMessage>;

export const TxnStatusMessage = Type.Object(
  {
    transaction_id: Code99(),
    txnstatus_request: Type.Object(
      {
        reference_id: Code99(),
        // The January 2025 release misspelled subscribe: accepted.
        txn_type: Type.Union([
          Type.Literal('search'),
          Type.Literal('subscribe'),
          Type.Literal('subscibe'),
          Type.Literal('receipt'),
        ]),
        attribute_type: Type.Union([
          Type.Literal('transaction_id'),
          Type.Literal('reference_id_list'),
          Type.Literal('correlation_id'),
        ]),
        attribute_value: Type.Union([Code99(), Type.Array(Code99(), { minItems: 1, maxItems: 100 })]),
        locale: Type.Optional(Locale),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'TxnStatusRequest' },
);
export type TxnStatusMessage = Static<typeof TxnStatusMessage>;

// ---- Responses (OpenAPI documentation of Hearth's /openapi.json; bodies are built in envelope.ts).

const Loose = (description: string, properties: Record<string, TSchema> = {}) =>
  Type.Object(properties, { additionalProperties: true, description });

export const AckResponse = Loose('Acknowledgement (`Response` of the DCI contract)', {
  message: Loose('ack', {
    ack_status: Type.String({ enum: ['ACK', 'NACK', 'ERR'] }),
    timestamp: Type.String(),
    correlation_id: Type.String(),
    error: Type.Optional(Loose('Error', { code: Type.String(), message: Type.String() })),
  }),
});

export const CallbackEnvelope = Loose('Envelope with a MsgCallbackHeader (sync answers)', {
  signature: Type.Optional(Type.String()),
  header: Loose('MsgCallbackHeader_V1.0.0 fields (and MsgHeader_V1.0.0 ones)'),
  message: Type.Optional(Loose('SearchResponse or TxnStatusResponse')),
});

export const DciErrorBody = Loose(
  'Refusal: the contract’s `errors[]`, a DCI `message` with ack_status ERR and error.code, a header, and the problem fields',
  {
    errors: Type.Array(Loose('error', { code: Type.String(), message: Type.String() })),
    message: Loose('ack', { ack_status: Type.Literal('ERR') }),
    code: Type.String(),
  },
);
