import { randomBytes } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from '../http/errors.js';

/**
 * Common and breached passwords refused for local accounts: the ~49,000-entry list that zxcvbn-ts
 * ships (`passwords-common`), matched case-insensitively, plus the product's own name. Loaded once.
 */
let common: Set<string> | null = null;

function commonPasswords(): Set<string> {
  if (!common) {
    common = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
    for (const p of ['hearth', 'hearthhearth', 'hearth123', 'hearth1234']) common.add(p);
  }
  return common;
}

function refuse(message: string): AppError {
  return new AppError('ERR_VAL_RULE_VIOLATION', `password: ${message}`, {
    errors: [{ field: 'password', message }],
  });
}

/** Minimum length, a maximum (the hash input stays bounded), and no common or account-derived password. */
export function assertAcceptablePassword(password: string, minLength: number, username?: string): void {
  if ([...password].length < minLength) throw refuse(`must be at least ${minLength} characters`);
  if (password.length > 1024) throw refuse('must be at most 1024 characters');
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) throw refuse('is too common (it appears in lists of leaked passwords)');
  if (username && lower.includes(username.toLowerCase())) throw refuse('must not contain the username');
  if (/^(.)\1+$/.test(password)) throw refuse('must not repeat one character');
}

/** A one-time password for a new account or a reset: 18 random bytes, base64url (24 characters). */
export function oneTimePassword(): string {
  return randomBytes(18).toString('base64url');
}
