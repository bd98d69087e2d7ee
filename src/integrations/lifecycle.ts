import { AppError, stateConflict } from '../http/errors.js';
import type { IntegrationStatus } from './schemas.js';

/**
 * The integration status machine (docs/decisions/0031-integration-lifecycle.md). Each action names
 * the statuses it is legal from and the status it leads to; anything else is a 409 naming the
 * current status. `review` with decision `returned` leads back to draft instead.
 */
export type LifecycleAction =
  | 'request-review'
  | 'review'
  | 'approve'
  | 'activate'
  | 'restrict'
  | 'suspend'
  | 'deprecate'
  | 'archive';

export const TRANSITIONS: Record<
  LifecycleAction,
  { from: readonly IntegrationStatus[]; to: IntegrationStatus }
> = {
  'request-review': { from: ['draft'], to: 'requested' },
  review: { from: ['requested'], to: 'reviewed' },
  approve: { from: ['reviewed'], to: 'approved' },
  // Back to active after a restriction or a suspension; a deprecation is not undone.
  activate: { from: ['approved', 'restricted', 'suspended'], to: 'active' },
  // Lifting a suspension part-way: read-only access again.
  restrict: { from: ['active', 'suspended'], to: 'restricted' },
  // An emergency stop works from every running state, a deprecated one included (its tokens still work).
  suspend: { from: ['active', 'restricted', 'deprecated'], to: 'suspended' },
  deprecate: { from: ['active', 'restricted', 'suspended'], to: 'deprecated' },
  archive: {
    from: ['draft', 'requested', 'reviewed', 'approved', 'active', 'restricted', 'suspended', 'deprecated'],
    to: 'archived',
  },
};

export const RESOURCE = 'partner integration';

/** The status `action` leads to from `current`, or a 409 naming the current status. */
export function nextStatus(
  action: LifecycleAction,
  current: IntegrationStatus,
  decision: 'reviewed' | 'returned' = 'reviewed',
): IntegrationStatus {
  const t = TRANSITIONS[action];
  if (!t.from.includes(current)) throw stateConflict(RESOURCE, current, action);
  if (action === 'review' && decision === 'returned') return 'draft';
  return t.to;
}

/** Archived integrations are immutable: every write is refused. */
export function assertWritable(status: IntegrationStatus, action: string): void {
  if (status === 'archived') throw stateConflict(RESOURCE, status, action);
}

type Instant = Date | string;
const ms = (v: Instant): number => (v instanceof Date ? v.getTime() : Date.parse(v));

/** True while `now` lies in [from, until). */
export function inWindow(from: Instant, until: Instant | null, now: Date = new Date()): boolean {
  const t = now.getTime();
  return ms(from) <= t && (until === null || t < ms(until));
}

export type ExchangeDirection = 'push' | 'pull';

/**
 * May this integration exchange data now? Active: push and pull; restricted: pull only; every
 * other status: nothing. Outside its window: nothing. Refusals are 409 ERR_STATE_CONFLICT with the
 * current status, for the exchange layer to log and return.
 */
export function assertIntegrationCanExchange(
  integration: { status: string; active_from: Instant; active_until: Instant | null },
  direction: ExchangeDirection,
  now: Date = new Date(),
): void {
  const status = integration.status;
  const allowed = status === 'active' || (status === 'restricted' && direction === 'pull');
  if (!allowed) {
    const why =
      status === 'restricted'
        ? 'a restricted integration may pull but not push'
        : `a ${status} integration may not exchange data`;
    throw new AppError('ERR_STATE_CONFLICT', `cannot ${direction}: ${why}`, {
      extra: { current_status: status },
    });
  }
  if (!inWindow(integration.active_from, integration.active_until, now)) {
    throw new AppError(
      'ERR_STATE_CONFLICT',
      `cannot ${direction}: the integration is outside its active window`,
      {
        extra: { current_status: status },
      },
    );
  }
}
