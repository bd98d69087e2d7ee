import { type PersonDecision, sees } from '../access/person-access.js';
import type { HouseholdView } from '../registry/household-schemas.js';
import type { PersonView } from '../registry/person-schemas.js';
import { HOUSEHOLD_FIELD_PREFIX, isHouseholdField, isLinkField, type LinkField } from './contract-fields.js';
import type { MembershipLink, RelationshipLink } from './exchange-pull-repo.js';
import { cellOf } from './formats/csv.js';

/** A household as a pulled record may show it: the masked view and the members the caller may see. */
export interface HouseholdPart {
  view: HouseholdView | null;
  members: { person_id: string; relationship_type: string }[];
  /** The household exists but its leader's consent hides it from the caller. */
  hidden: boolean;
}

/**
 * A person's links as a pulled record shows them. Relationships hold only those whose other
 * person the caller may see (consented for export); `hidden` names the link fields the person's
 * own masking withholds (their lists are then empty).
 */
export interface LinksPart {
  memberships: Omit<MembershipLink, 'person_id'>[];
  relationships: RelationshipLink[];
  hidden: LinkField[];
}

/**
 * May this caller see the link field of a person, given the decision on that person (src/access
 * `sees`)? Memberships carry household ids: a classification-based reader must also see
 * `household_id`; a contract naming `memberships` grants them as they are.
 */
export function linkShown(field: LinkField, d: PersonDecision): boolean {
  if (field === 'relationships') return sees(d, 'relationships');
  return sees(d, 'memberships') && (d.grant.kind === 'fields' || sees(d, 'household_id'));
}

export interface ProjectedRecord {
  /** Field name → value, household fields nested under `household`; then masked_fields. */
  record: Record<string, unknown>;
}

const personFieldsOf = (fieldList: readonly string[]) => fieldList.filter((f) => !isHouseholdField(f));
const householdFieldsOf = (fieldList: readonly string[]) =>
  fieldList.filter(isHouseholdField).map((f) => f.slice(HOUSEHOLD_FIELD_PREFIX.length));

/**
 * A person, already masked by the access decision (person-access.ts), cut down to the
 * contract's field_list. masked_fields names, among those fields, the ones withheld or partly
 * masked for this caller; household fields are named with their `household.` prefix. Link
 * fields (`memberships`, `relationships`) come from `links`, already consent-filtered.
 */
export function projectPerson(
  view: PersonView,
  fieldList: readonly string[],
  household: HouseholdPart | null,
  links: LinksPart | null = null,
): ProjectedRecord {
  const person = view as unknown as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  const personFields = personFieldsOf(fieldList);
  const masked = view.masked_fields.filter((m) => personFields.includes(m.split('.')[0]));
  for (const f of personFields) {
    if (!isLinkField(f)) {
      record[f] = person[f] ?? null;
      continue;
    }
    const list = links?.[f] ?? [];
    if (links?.hidden.includes(f)) {
      record[f] = [];
      if (list.length > 0) masked.push(f);
    } else {
      record[f] = list;
    }
  }

  const householdFields = householdFieldsOf(fieldList);
  if (householdFields.length > 0) {
    const h: Record<string, unknown> = {};
    const shown = household?.view as unknown as Record<string, unknown> | null;
    for (const f of householdFields) {
      if (f === 'members') h[f] = shown ? (household?.members ?? []) : [];
      else h[f] = shown ? (shown[f] ?? null) : null;
      if (household?.hidden) masked.push(`${HOUSEHOLD_FIELD_PREFIX}${f}`);
    }
    for (const m of household?.view?.masked_fields ?? []) {
      if (householdFields.includes(m)) masked.push(`${HOUSEHOLD_FIELD_PREFIX}${m}`);
    }
    record.household = h;
  }
  record.masked_fields = [...new Set(masked)];
  return { record };
}

/** CSV columns of a pull: the field_list in its order, then masked_fields. */
export function csvColumns(fieldList: readonly string[]): string[] {
  return [...fieldList, 'masked_fields'];
}

/** One CSV row of a projected record; household fields read from the nested object. */
export function csvRow(record: Record<string, unknown>, columns: readonly string[]): string[] {
  const household = (record.household ?? {}) as Record<string, unknown>;
  return columns.map((c) => {
    if (c === 'masked_fields') return cellOf((record.masked_fields as string[]).join(';'));
    if (isHouseholdField(c)) return cellOf(household[c.slice(HOUSEHOLD_FIELD_PREFIX.length)]);
    return cellOf(record[c]);
  });
}
