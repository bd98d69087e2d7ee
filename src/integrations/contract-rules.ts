import { AppError, type FieldError } from '../http/errors.js';
import {
  isContractField,
  isHouseholdField,
  isLinkField,
  isPersonField,
  LINK_CATEGORY,
} from './contract-fields.js';

function ruleViolation(errors: FieldError[]): AppError {
  const first = errors[0];
  const detail =
    errors.length === 1 ? `${first.field}: ${first.message}` : `${errors.length} contract rules are broken`;
  return new AppError('ERR_VAL_RULE_VIOLATION', detail, { errors });
}

/**
 * A field list names only real fields (person fields, `household.`-prefixed household fields,
 * `memberships`, `relationships`), and each field's category is among the data categories: person
 * fields need `person`, household fields `household`, `memberships` `membership` and
 * `relationships` `relationship`.
 */
export function checkContractContent(
  content: { data_categories: readonly string[]; field_list: readonly string[] },
  prefix = '',
): void {
  const errors: FieldError[] = [];
  content.field_list.forEach((name, i) => {
    const field = `${prefix}field_list[${i}]`;
    if (!isContractField(name)) {
      errors.push({
        field,
        message: `"${name}" is not a person field, a household.* field, memberships or relationships`,
      });
    } else if (isPersonField(name) && !content.data_categories.includes('person')) {
      errors.push({ field, message: `"${name}" is a person field: data_categories must include person` });
    } else if (isHouseholdField(name) && !content.data_categories.includes('household')) {
      errors.push({
        field,
        message: `"${name}" is a household field: data_categories must include household`,
      });
    } else if (isLinkField(name) && !content.data_categories.includes(LINK_CATEGORY[name])) {
      errors.push({
        field,
        message: `"${name}" needs data_categories to include ${LINK_CATEGORY[name]}`,
      });
    }
  });
  if (errors.length > 0) throw ruleViolation(errors);
}

/** Consent may only be required in verticals the integration declares. */
export function checkConsentVerticals(
  consentVerticalIds: readonly string[],
  integrationVerticalIds: readonly string[],
  field = 'consent_requirements.vertical_ids',
): void {
  const outside = consentVerticalIds.filter((v) => !integrationVerticalIds.includes(v));
  if (outside.length > 0) {
    throw ruleViolation([
      { field, message: `not among the integration's vertical_ids: ${outside.join(', ')}` },
    ]);
  }
}

/** active_until, when set, is after active_from. */
export function checkWindow(
  from: Date | string,
  until: Date | string | null | undefined,
  field = 'active_until',
): void {
  if (until === null || until === undefined) return;
  if (new Date(until).getTime() <= new Date(from).getTime()) {
    throw ruleViolation([{ field, message: 'must be after active_from' }]);
  }
}

export function rule(field: string, message: string): AppError {
  return ruleViolation([{ field, message }]);
}
