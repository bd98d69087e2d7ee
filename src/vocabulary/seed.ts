import type { Tx } from '../db/database.js';
import { GENERIC_REASON_CODES } from './reason-codes.js';

export const NS = 'urn:hearth:vocab';
export const ISO_5218 = 'urn:iso:std:iso:5218';

export interface VocabularySeed {
  code: string;
  name: string;
  extendable: boolean;
  codes: [code: string, display: string][];
}

/** The vocabularies every tenant starts with; tenant admins may add codes to the extendable ones. */
export const VOCABULARIES: VocabularySeed[] = [
  {
    code: 'gender',
    name: 'Gender (ISO/IEC 5218)',
    extendable: false,
    codes: [
      ['0', 'Not known'],
      ['1', 'Male'],
      ['2', 'Female'],
      ['9', 'Not applicable'],
    ],
  },
  {
    code: 'id-type',
    name: 'Identity document types',
    extendable: true,
    codes: [
      ['national_id', 'National ID'],
      ['passport', 'Passport'],
      ['birth_certificate', 'Birth certificate'],
      ['voter_id', 'Voter ID'],
      ['tax_id', 'Tax ID'],
      ['driving_license', 'Driving licence'],
      ['social_security', 'Social security number'],
      ['refugee_id', 'Refugee ID'],
      ['other', 'Other'],
    ],
  },
  {
    code: 'relationship-type',
    name: 'Family relationship types (base relationships only)',
    extendable: false,
    codes: [
      ['parent', 'Parent'],
      ['mother', 'Mother'],
      ['father', 'Father'],
      ['spouse', 'Spouse'],
      ['guardian', 'Guardian'],
    ],
  },
  {
    code: 'membership-role',
    name: 'Household membership roles (base roles only)',
    // Seed 004: "Household relationships MUST use base relationships only" (docs/decisions/0007).
    extendable: false,
    codes: [
      ['head', 'Head of household'],
      ['spouse', 'Spouse or partner'],
      ['child', 'Child'],
      ['parent', 'Parent'],
      ['sibling', 'Sibling'],
      ['grandchild', 'Grandchild'],
      ['grandparent', 'Grandparent'],
      ['other_relative', 'Other relative'],
      ['non_relative', 'Non-relative'],
      ['member', 'Member'],
    ],
  },
  {
    code: 'group-kind',
    name: 'Group kinds',
    extendable: true,
    codes: [
      ['household', 'Household'],
      ['family', 'Family'],
      ['cooperative', 'Cooperative'],
      ['organization', 'Organization'],
      ['other', 'Other'],
    ],
  },
  {
    code: 'contact-type',
    name: 'Contact types',
    extendable: true,
    codes: [
      ['phone', 'Phone'],
      ['email', 'Email'],
      ['whatsapp', 'WhatsApp'],
      ['other', 'Other'],
    ],
  },
  {
    code: 'reason-code',
    name: 'Reason codes for state changes',
    extendable: false,
    codes: GENERIC_REASON_CODES.map((c) => [c, c.charAt(0) + c.slice(1).toLowerCase().replaceAll('_', ' ')]),
  },
];

export const namespaceOf = (vocabulary: string): string => `${NS}:${vocabulary}`;

/** The identifier `system` of an identity type: `urn:hearth:vocab:id-type#national_id`. */
export const identitySystem = (identityType: string): string => `${NS}:id-type#${identityType}`;

export async function seedVocabularies(tx: Tx, tenantId: string): Promise<void> {
  for (const v of VOCABULARIES) {
    await tx.query(
      'INSERT INTO vocabularies (tenant_id, code, namespace, name, extendable) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, v.code, namespaceOf(v.code), v.name, v.extendable],
    );
    await tx.query(
      `INSERT INTO vocabulary_codes (tenant_id, vocabulary, code, display, is_system)
       SELECT $1, $2, c, d, true FROM unnest($3::text[], $4::text[]) AS x(c, d)`,
      [tenantId, v.code, v.codes.map((c) => c[0]), v.codes.map((c) => c[1])],
    );
  }
}
