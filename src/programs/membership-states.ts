// Data only, no imports: the console bundles this file too, so its status actions never drift
// from the transitions the API accepts.

export const MEMBERSHIP_STATUSES = [
  'draft',
  'enrolled',
  'paused',
  'exited',
  'not_eligible',
  'duplicated',
] as const;
export type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];

/** Statuses a membership may move to from each status; the closed ones are final. */
export const MEMBERSHIP_TRANSITIONS: Record<MembershipStatus, readonly MembershipStatus[]> = {
  draft: ['enrolled', 'not_eligible', 'duplicated'],
  enrolled: ['paused', 'exited', 'duplicated'],
  paused: ['enrolled', 'exited', 'duplicated'],
  exited: [],
  not_eligible: [],
  duplicated: [],
};
