import { classificationOf } from './classification.js';
import type { Reader } from './reader.js';

/**
 * Which breakdowns of the registry a reader may count (docs/decisions/0101-dashboard-statistics.md).
 * - Third parties (integrations, DCI senders, consent-bound clients) get no statistics: a count
 *   says something about persons they may not see at all.
 * - Status, verification status and registration month are basic: every staff reader counts them.
 * - A breakdown by a classified field (gender, age from date_of_birth) is given only to a reader
 *   who sees that field of every person from registration on; a reader who sees it only under
 *   consent, or never, would learn from small cells what the record masks, so the breakdown is
 *   withheld (named in `withheld`), never approximated.
 */
export interface StatsAccess {
  allowed: boolean;
  /** Fields whose breakdown the reader may see: 'gender', 'date_of_birth'. */
  fields: ReadonlySet<string>;
}

const BREAKDOWN_FIELDS = ['gender', 'date_of_birth'] as const;

export function statsAccess(reader: Reader): StatsAccess {
  if (reader.kind === 'third_party') return { allowed: false, fields: new Set() };
  const fields = new Set<string>();
  for (const field of BREAKDOWN_FIELDS) {
    const cls = classificationOf(field, reader.overrides);
    if (reader.kind === 'root' || cls === 'basic' || reader.staff[cls] === 'registration') fields.add(field);
  }
  return { allowed: true, fields };
}
