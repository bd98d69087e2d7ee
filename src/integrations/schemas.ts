import { type Static, Type } from 'typebox';
import { Body, DateTime, Nullable, PageQuery, ReasonFields, Uuid } from '../http/schemas.js';
import { CONTRACT_FIELDS, DATA_CATEGORIES } from './contract-fields.js';

export const INTEGRATION_STATUSES = [
  'draft',
  'requested',
  'reviewed',
  'approved',
  'active',
  'restricted',
  'suspended',
  'deprecated',
  'archived',
] as const;
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];

export const PARTNER_TYPES = ['government', 'NGO', 'private', 'international'] as const;
export type PartnerType = (typeof PARTNER_TYPES)[number];

export const CONTRACT_STATUSES = ['draft', 'active', 'archived'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

export const TEMPLATE_STATUSES = ['active', 'deprecated'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

const Name = (examples: string[]) => Type.String({ minLength: 1, maxLength: 200, examples });
const PartnerTypeSchema = Type.Enum(PARTNER_TYPES);
const StatusSchema = Type.Enum(INTEGRATION_STATUSES);
const VerticalIds = (description: string) =>
  Type.Array(Uuid(), { minItems: 1, maxItems: 100, uniqueItems: true, description });
const ReasonCode = ReasonFields.reason_code;
const ReasonText = Type.String({ minLength: 1, maxLength: 2000 });

// ---------------------------------------------------------------- integrations

export const IntegrationCreate = Body({
  integration_name: Name(['Ministry of Health EMR']),
  partner_name: Name(['Ministry of Health']),
  partner_type: PartnerTypeSchema,
  vertical_ids: VerticalIds('verticals of the tenant the integration is limited to'),
  active_from: DateTime('start of the integration’s window'),
  active_until: Type.Optional(DateTime('end of the window (exclusive); open-ended when omitted')),
  data_contract_ref: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'reference of the signed data-sharing agreement',
    }),
  ),
});
export type IntegrationCreate = Static<typeof IntegrationCreate>;

export const IntegrationPatch = Body(
  {
    integration_name: Type.Optional(Name(['Ministry of Health EMR'])),
    partner_name: Type.Optional(Name(['Ministry of Health'])),
    vertical_ids: Type.Optional(VerticalIds('only while draft')),
    active_from: Type.Optional(DateTime('only while draft')),
    active_until: Type.Optional(
      Nullable(DateTime('any value while draft; afterwards it may only be brought forward')),
    ),
  },
  {
    description:
      'Names change in any status but archived; vertical_ids and active_from only while draft; ' +
      'after draft active_until may only shorten the window.',
  },
);
export type IntegrationPatch = Static<typeof IntegrationPatch>;

export const Integration = Type.Object({
  integration_id: Uuid(),
  tenant_id: Uuid(),
  integration_name: Type.String(),
  partner_name: Type.String(),
  partner_type: PartnerTypeSchema,
  vertical_ids: Type.Array(Uuid()),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  data_contract_ref: Nullable(Type.String()),
  template_id: Nullable(Uuid()),
  status: StatusSchema,
  auth_client_id: Nullable(
    Type.String({ description: 'the integration’s API client, issued on activation' }),
  ),
  requested_at: Nullable(DateTime()),
  requested_by: Nullable(Type.String()),
  request_reason_code: Nullable(Type.String()),
  request_reason_text: Nullable(Type.String()),
  reviewed_at: Nullable(DateTime()),
  reviewed_by: Nullable(Type.String()),
  review_notes: Nullable(Type.String()),
  review_decision: Nullable(Type.Enum(['reviewed', 'returned'])),
  approved_at: Nullable(DateTime()),
  approved_by: Nullable(Type.String()),
  approval_reason_code: Nullable(Type.String()),
  approval_reason_text: Nullable(Type.String()),
  activated_at: Nullable(DateTime()),
  restricted_at: Nullable(DateTime()),
  suspended_at: Nullable(DateTime()),
  deprecated_at: Nullable(DateTime()),
  archived_at: Nullable(DateTime()),
  status_reason_code: Nullable(Type.String()),
  status_reason_text: Nullable(Type.String()),
  version_id: Type.Integer({ description: 'bumped on every change' }),
  created_by: Nullable(Type.String()),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Integration = Static<typeof Integration>;

export const IntegrationActivated = Type.Intersect([
  Integration,
  Type.Object({
    client_secret: Type.Optional(
      Type.String({
        description: 'secret of the newly issued client: returned once, on the first activation only',
      }),
    ),
  }),
]);
export type IntegrationActivated = Static<typeof IntegrationActivated>;

export const IntegrationListQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(StatusSchema),
  partner_type: Type.Optional(PartnerTypeSchema),
  vertical_id: Type.Optional(Uuid('integrations declaring this vertical')),
});
export type IntegrationListQuery = Static<typeof IntegrationListQuery>;

export const IntegrationParams = Type.Object({ integration_id: Uuid() });

// ---------------------------------------------------------------- lifecycle bodies

export const RequestReviewBody = Body({
  request_reason_code: ReasonCode,
  request_reason_text: Type.Optional(ReasonText),
});
export type RequestReviewBody = Static<typeof RequestReviewBody>;

export const ReviewBody = Body({
  review_notes: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
  decision: Type.Optional(
    Type.Enum(['reviewed', 'returned'], {
      default: 'reviewed',
      description: '`returned` sends the integration back to draft with the notes (required then)',
    }),
  ),
});
export type ReviewBody = Static<typeof ReviewBody>;

export const ApproveBody = Body({
  approval_reason_code: ReasonCode,
  approval_reason_text: Type.Optional(ReasonText),
});
export type ApproveBody = Static<typeof ApproveBody>;

export const EmptyBody = Body({}, { description: 'no input' });

export const ActivateBody = Body(
  {
    rate_limit_per_minute: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description:
          'requests per minute for the integration’s client (default: the server’s per-client limit); ' +
          'set on the first activation, changed on a later one',
      }),
    ),
  },
  { description: 'optional settings of the integration’s API client' },
);
export type ActivateBody = Static<typeof ActivateBody>;

export const ReasonBody = Body({ ...ReasonFields });
export type ReasonBody = Static<typeof ReasonBody>;

export const IntegrationVersion = Type.Object({
  version_id: Type.Integer(),
  changed_at: DateTime(),
  changed_by: Nullable(Type.String()),
  source_system: Nullable(Type.String()),
  change: Type.String(),
  fields: Type.Array(Type.String()),
  old_values: Nullable(Type.Record(Type.String(), Type.Unknown())),
  new_values: Nullable(Type.Record(Type.String(), Type.Unknown())),
  status_from: Nullable(Type.String()),
  status_to: Nullable(Type.String()),
  reason_code: Nullable(Type.String()),
  reason_text: Nullable(Type.String()),
});
export type IntegrationVersion = Static<typeof IntegrationVersion>;

// ---------------------------------------------------------------- contracts

const DataCategories = Type.Array(Type.Enum(DATA_CATEGORIES), {
  minItems: 1,
  uniqueItems: true,
  description:
    'person fields need `person`, household.* fields `household`, `memberships` `membership`, ' +
    '`relationships` `relationship`',
});
const FieldList = Type.Array(Type.String({ pattern: '^[a-z][a-z_.]{0,63}$' }), {
  minItems: 1,
  maxItems: 100,
  uniqueItems: true,
  description: `fields the integration may exchange: ${CONTRACT_FIELDS.join(', ')}`,
});
const ConsentRequirements = Type.Object(
  {
    vertical_ids: Type.Array(Uuid(), {
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      description: 'each record needs an active consent in every listed vertical (among the integration’s)',
    }),
  },
  { additionalProperties: false },
);
export type ConsentRequirements = Static<typeof ConsentRequirements>;

export const ContractCreate = Body({
  purpose: Type.String({
    minLength: 1,
    maxLength: 2000,
    examples: ['Eligibility checks for the cash transfer'],
  }),
  data_categories: DataCategories,
  field_list: FieldList,
  consent_requirements: ConsentRequirements,
  active_from: DateTime(),
  active_until: Type.Optional(DateTime('end of the window (exclusive)')),
});
export type ContractCreate = Static<typeof ContractCreate>;

export const ContractPatch = Body(
  {
    purpose: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    data_categories: Type.Optional(DataCategories),
    field_list: Type.Optional(FieldList),
    consent_requirements: Type.Optional(ConsentRequirements),
    active_until: Type.Optional(Nullable(DateTime())),
  },
  { description: 'only while the contract is draft' },
);
export type ContractPatch = Static<typeof ContractPatch>;

export const Contract = Type.Object({
  contract_id: Uuid(),
  integration_id: Uuid(),
  tenant_id: Uuid(),
  purpose: Type.String(),
  data_categories: Type.Array(Type.String()),
  field_list: Type.Array(Type.String()),
  consent_requirements: Type.Object({ vertical_ids: Type.Array(Uuid()) }),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  status: Type.Enum(CONTRACT_STATUSES),
  in_force: Type.Boolean({ description: 'active and now inside [active_from, active_until)' }),
  activated_at: Nullable(DateTime()),
  activated_by: Nullable(Type.String()),
  archived_at: Nullable(DateTime()),
  archived_by: Nullable(Type.String()),
  reason_code: Nullable(Type.String()),
  reason_text: Nullable(Type.String()),
  template_id: Nullable(Uuid()),
  version_id: Type.Integer(),
  created_by: Nullable(Type.String()),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Contract = Static<typeof Contract>;

export const ContractParams = Type.Object({ integration_id: Uuid(), contract_id: Uuid() });

export const ContractListQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Enum(CONTRACT_STATUSES)),
});
export type ContractListQuery = Static<typeof ContractListQuery>;

// ---------------------------------------------------------------- templates

const VerticalCode = Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,31}$', examples: ['HEALTH'] });
const VerticalCodes = (description: string) =>
  Type.Array(VerticalCode, { minItems: 1, maxItems: 50, uniqueItems: true, description });

export const ContractTemplate = Type.Object(
  {
    purpose: Type.String({ minLength: 1, maxLength: 2000 }),
    data_categories: DataCategories,
    field_list: FieldList,
    consent_requirements: Type.Optional(
      Type.Object(
        {
          vertical_ids: VerticalCodes(
            'vertical CODES whose consent each record needs (among the template’s); ' +
              'all of the integration’s verticals when omitted',
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'the draft contract created with each instance' },
);
export type ContractTemplate = Static<typeof ContractTemplate>;

export const TemplateCreate = Body({
  template_name: Name(['National health information exchange']),
  partner_type: PartnerTypeSchema,
  vertical_ids: VerticalCodes(
    'vertical CODES (e.g. HEALTH): templates are shared across tenants and verticals are per tenant',
  ),
  contract_template: ContractTemplate,
});
export type TemplateCreate = Static<typeof TemplateCreate>;

export const Template = Type.Object({
  template_id: Uuid(),
  template_name: Type.String(),
  partner_type: PartnerTypeSchema,
  vertical_ids: Type.Array(Type.String({ description: 'vertical code' })),
  contract_template: ContractTemplate,
  status: Type.Enum(TEMPLATE_STATUSES),
  created_by: Nullable(Type.String()),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Template = Static<typeof Template>;

export const TemplateListQuery = Type.Object({
  ...PageQuery,
  partner_type: Type.Optional(PartnerTypeSchema),
  status: Type.Optional(Type.Enum(TEMPLATE_STATUSES)),
});
export type TemplateListQuery = Static<typeof TemplateListQuery>;

export const TemplateParams = Type.Object({ template_id: Uuid() });

export const InstantiateBody = Body({
  tenant_id: Uuid('tenant the integration is created in (a tenant admin: its own)'),
  integration_name: Name(['District clinic EMR']),
  partner_name: Name(['District Health Office']),
  vertical_ids: Type.Optional(
    VerticalIds('vertical ids of the tenant; by default the tenant’s verticals with the template’s codes'),
  ),
});
export type InstantiateBody = Static<typeof InstantiateBody>;

export const Instantiated = Type.Intersect([
  Integration,
  Type.Object({ contract_id: Uuid('the draft contract created from the template') }),
]);
export type Instantiated = Static<typeof Instantiated>;
