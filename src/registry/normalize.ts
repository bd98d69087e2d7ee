import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { AppError } from '../http/errors.js';

/** Identity numbers compare without case, spaces, dots, dashes or slashes. */
export function identityKey(number: string): string {
  return number.toUpperCase().replace(/[\s.\-/]/g, '');
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * A contact's stored value and comparison key: phones in E.164 when they parse (with the tenant's
 * default country for national formats), emails lower-cased. An invalid email or a phone with no
 * digits is refused.
 */
export function normalizeContact(
  type: string,
  value: string,
  field: string,
  defaultCountry?: string,
): { value: string; key: string } {
  const trimmed = value.trim();
  if (type === 'email') {
    if (!EMAIL_RE.test(trimmed)) {
      throw new AppError('ERR_VAL_INVALID_FORMAT', `${field}: not an email address`, {
        errors: [{ field, message: 'not an email address' }],
      });
    }
    return { value: trimmed, key: trimmed.toLowerCase() };
  }
  if (type === 'phone' || type === 'whatsapp') {
    if (!/\d/.test(trimmed) || !/^[+\d\s().-]+$/.test(trimmed)) {
      throw new AppError('ERR_VAL_INVALID_FORMAT', `${field}: not a phone number`, {
        errors: [{ field, message: 'not a phone number' }],
      });
    }
    const parsed = parsePhoneNumberFromString(trimmed, defaultCountry as CountryCode | undefined);
    if (parsed?.isValid()) return { value: parsed.number, key: parsed.number };
    const digits = trimmed.replace(/[^\d+]/g, '');
    return { value: trimmed, key: digits };
  }
  return { value: trimmed, key: trimmed.toLowerCase() };
}

/** The comparison key of a phone given in a search (same rules as stored phones). */
export function phoneKey(value: string, defaultCountry?: string): string {
  const parsed = parsePhoneNumberFromString(value.trim(), defaultCountry as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : value.replace(/[^\d+]/g, '');
}

/** Birth date of someone of `years` today (same day and month), for age estimates. */
export function birthDateFromAge(years: number, today = new Date()): string {
  const d = new Date(Date.UTC(today.getUTCFullYear() - years, today.getUTCMonth(), today.getUTCDate()));
  return d.toISOString().slice(0, 10);
}

export function ageOn(dateOfBirth: string, today = new Date()): number {
  const [y, m, d] = dateOfBirth.split('-').map(Number);
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) age--;
  return age;
}

/** Refuses birth dates in the future or before 1880. */
export function assertBirthDate(date: string, field = 'date_of_birth'): void {
  const today = new Date().toISOString().slice(0, 10);
  if (date > today || date < '1880-01-01') {
    throw new AppError('ERR_VAL_RULE_VIOLATION', `${field}: must be a past date after 1880`, {
      errors: [{ field, message: 'must be a past date after 1880' }],
    });
  }
}

/** Refuses a date after today (registration and collection dates). */
export function assertNotFuture(date: string, field: string): void {
  if (date > new Date().toISOString().slice(0, 10)) {
    throw new AppError('ERR_VAL_RULE_VIOLATION', `${field}: must not be in the future`, {
      errors: [{ field, message: 'must not be in the future' }],
    });
  }
}
