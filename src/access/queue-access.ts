import { forbidden } from '../http/errors.js';
import type { Reader } from './reader.js';

/**
 * Work queues that list records across persons (consents awaiting verification, expiring or in
 * grace) are staff tools. A third party sees a person only under consent and through its
 * contract; a tenant-wide list of consents would tell it who was registered, withdrew or lapsed,
 * so it gets none.
 */
export function assertStaffQueue(reader: Reader, what: string): void {
  if (reader.kind === 'third_party')
    throw forbidden(`${what} is a staff work queue; consent-bound callers read consents per person`);
}
