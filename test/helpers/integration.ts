import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { call, type IssuedTestClient, type TestTenant, tokenFor } from './tenant.js';

const reviewers = new Map<string, { reviewer: IssuedTestClient; approver: IssuedTestClient }>();

/** Every person field a contract may name (docs/decisions/0012: a third party sees its contract). */
export const ALL_PERSON_FIELDS = [
  'given_name',
  'family_name',
  'additional_name',
  'full_name',
  'date_of_birth',
  'age_estimate',
  'birth_date_estimated',
  'gender',
  'identities',
  'contacts',
  'birth_place',
  'address',
  'geo_id',
  'household_id',
  'extensions',
  'verification_status',
  'household.household_name',
  'household.geo_id',
  'household.address',
  'household.geo_lat',
  'household.geo_lon',
  'household.extensions',
  'household.members',
];

/**
 * An active integration of the tenant (all its verticals) with an active contract naming
 * `fieldList`, and its own client's token: a third party as the access policy sees it.
 */
export async function contractedIntegration(
  t: TestApp,
  tenant: TestTenant,
  fieldList: readonly string[] = ALL_PERSON_FIELDS,
): Promise<IssuedTestClient & { integrationId: string; contractId: string }> {
  let s = reviewers.get(tenant.tenantId);
  if (!s) {
    s = {
      reviewer: await tenant.client({ roles: ['reviewer'] }),
      approver: await tenant.client({ roles: ['approver'] }),
    };
    reviewers.set(tenant.tenantId, s);
  }
  const ok = async (token: string, method: 'POST', url: string, body: unknown = {}) => {
    const res = await call(t.app, token, method, url, body);
    expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };
  const created = await ok(tenant.admin.token, 'POST', '/api/v1/integrations', {
    integration_name: `Partner ${Math.random().toString(16).slice(2, 10)}`,
    partner_name: 'Ministry of Health',
    partner_type: 'government',
    vertical_ids: Object.values(tenant.verticals),
    active_from: new Date(Date.now() - 3600_000).toISOString(),
  });
  const id: string = created.integration_id;
  const at = (rest: string) => `/api/v1/integrations/${id}${rest}`;
  await ok(tenant.admin.token, 'POST', at('/request-review'), { request_reason_code: 'ROUTINE_REVIEW' });
  await ok(s.reviewer.token, 'POST', at('/review'), { review_notes: 'ok' });
  await ok(s.approver.token, 'POST', at('/approve'), { approval_reason_code: 'ROUTINE_REVIEW' });
  const activated = await ok(tenant.admin.token, 'POST', at('/activate'));
  const categories = ['person', ...(fieldList.some((f) => f.startsWith('household.')) ? ['household'] : [])];
  const contract = await ok(tenant.admin.token, 'POST', at('/contracts'), {
    purpose: 'Eligibility checks',
    data_categories: categories,
    field_list: fieldList,
    consent_requirements: { vertical_ids: [tenant.verticals.HEALTH] },
    active_from: new Date(Date.now() - 3600_000).toISOString(),
  });
  await ok(tenant.admin.token, 'POST', at(`/contracts/${contract.contract_id}/activate`));
  const token = await tokenFor(t.app, activated.auth_client_id, activated.client_secret);
  return {
    clientId: activated.auth_client_id,
    secret: activated.client_secret,
    token,
    integrationId: id,
    contractId: contract.contract_id,
  };
}
