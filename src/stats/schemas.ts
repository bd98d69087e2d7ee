import { type Static, Type } from 'typebox';
import { DateTime, Nullable, Uuid } from '../http/schemas.js';

const Count = Type.Integer();
const AsOf = DateTime();

export const AGE_BANDS = ['0-4', '5-17', '18-59', '60+', 'unknown'] as const;

export const PersonStats = Type.Object({
  as_of: AsOf,
  total: Type.Integer({ description: 'archived ones included' }),
  active: Count,
  by_status: Type.Array(
    Type.Object({
      status: Type.String({ enum: ['active', 'archived'] }),
      verification_status: Type.String({ enum: ['provisional', 'verified'] }),
      count: Count,
    }),
  ),
  by_gender: Nullable(
    Type.Array(
      Type.Object({
        gender: Nullable(Type.String()),
        count: Count,
      }),
      { description: 'active persons; null when withheld' },
    ),
  ),
  by_age_band: Nullable(
    Type.Array(Type.Object({ band: Type.String({ enum: [...AGE_BANDS] }), count: Count }), {
      description: 'active persons by age (from the month of birth); null when withheld',
    }),
  ),
  by_registration_month: Type.Array(
    Type.Object({ month: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}$' }), count: Count }),
    { description: 'registered in each of the last 12 months (UTC)' },
  ),
  withheld: Type.Array(Type.String({ enum: ['gender', 'age_band'] }), {
    description: 'breakdowns by a field this reader sees masked',
  }),
});
export type PersonStats = Static<typeof PersonStats>;

export const HouseholdStats = Type.Object({
  as_of: AsOf,
  total: Count,
  by_status: Type.Array(
    Type.Object({ status: Type.String({ enum: ['provisional', 'verified', 'archived'] }), count: Count }),
  ),
});
export type HouseholdStats = Static<typeof HouseholdStats>;

export const ConsentStatsQuery = Type.Object(
  {
    expiring_within_days: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 365,
        default: 30,
        description: 'window of "expiring soon", in days',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ConsentStatsQuery = Static<typeof ConsentStatsQuery>;

const ConsentStatus = Type.String({ enum: ['pending', 'active', 'rejected', 'expired', 'withdrawn'] });

export const ConsentStats = Type.Object({
  as_of: AsOf,
  by_status: Type.Array(Type.Object({ status: ConsentStatus, count: Count })),
  by_vertical: Type.Array(
    Type.Object({ vertical_id: Uuid(), vertical_code: Type.String(), status: ConsentStatus, count: Count }),
  ),
  expiring_within_days: Type.Integer({ minimum: 1 }),
  expiring_soon: Type.Integer({
    minimum: 0,
    description: 'active consents ending within expiring_within_days',
  }),
  in_grace: Type.Integer({
    minimum: 0,
    description: 'window ended, grace period not',
  }),
});
export type ConsentStats = Static<typeof ConsentStats>;

export const ImportStats = Type.Object({
  as_of: AsOf,
  days: Type.Integer({ minimum: 1, description: 'runs created in the last days' }),
  runs: Count,
  by_status: Type.Array(
    Type.Object({
      status: Type.String({
        enum: ['queued', 'validating', 'running', 'completed', 'failed', 'rolled_back'],
      }),
      count: Count,
    }),
  ),
  by_day: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), count: Count })),
  rows_read: Count,
  rows_created: Count,
  rows_updated: Count,
  rows_rejected: Count,
});
export type ImportStats = Static<typeof ImportStats>;

export const IntegrationStats = Type.Object({
  as_of: AsOf,
  total: Count,
  by_status: Type.Array(
    Type.Object({
      status: Type.String({
        enum: [
          'draft',
          'requested',
          'reviewed',
          'approved',
          'active',
          'restricted',
          'suspended',
          'deprecated',
          'archived',
        ],
      }),
      count: Count,
    }),
  ),
});
export type IntegrationStats = Static<typeof IntegrationStats>;
