import type { TSchema } from 'typebox';
import * as audit from '../audit/schemas.js';
import * as auth from '../auth/routes.js';
import * as clients from '../clients/schemas.js';
import * as consent from '../consent/schemas.js';
import * as dci from '../faces/dci/schemas.js';
import * as dciSenders from '../faces/dci/senders.js';
import * as g2pErrors from '../faces/g2p/errors.js';
import * as g2p from '../faces/g2p/schemas.js';
import * as v2 from '../faces/v2-spp/schemas.js';
import * as http from '../http/schemas.js';
import * as imports from '../imports/schemas.js';
import * as exchange from '../integrations/exchange-schemas.js';
import * as integrations from '../integrations/schemas.js';
import * as programs from '../programs/schemas.js';
import * as extensions from '../registry/extensions.js';
import * as geo from '../registry/geo.js';
import * as households from '../registry/household-schemas.js';
import * as persons from '../registry/person-schemas.js';
import * as relationships from '../registry/relationships.js';
import * as sessions from '../sessions/schemas.js';
import * as stats from '../stats/schemas.js';
import * as tenancy from '../tenancy/schemas.js';
import * as users from '../users/schemas.js';
import * as vocabulary from '../vocabulary/schemas.js';
import * as webhooks from '../webhooks/schemas.js';

/**
 * The schema modules whose exported TypeBox schemas become named OpenAPI components. Route schemas
 * keep using the objects themselves (validation and `Static<>` types are unchanged); the document
 * transform replaces every structurally equal copy with a `$ref` to the name given here, so the
 * one TypeBox definition serves validation, the OpenAPI document and the generated client.
 * Faces get a prefix so that their wire shapes never collide with Hearth's own.
 */
const MODULES: readonly [prefix: string, module: Record<string, unknown>][] = [
  ['', http],
  ['', persons],
  ['', households],
  ['', relationships],
  ['', consent],
  ['', programs],
  ['', integrations],
  ['', exchange],
  ['', webhooks],
  ['', imports],
  ['', clients],
  ['', tenancy],
  ['', vocabulary],
  ['', audit],
  ['', stats],
  ['', geo],
  ['', extensions],
  ['', auth],
  ['', users],
  ['', sessions],
  ['Dci', dci],
  ['Dci', dciSenders],
  ['G2p', g2p],
  ['G2p', g2pErrors],
  ['V2', v2],
];

/** Export names whose component name reads better otherwise (the resource, not its "view"). */
const RENAMES: Record<string, string> = {
  ProblemSchema: 'Problem',
  FieldErrorSchema: 'FieldError',
  PersonView: 'Person',
  HouseholdView: 'Household',
  ProgramView: 'Program',
  MembershipView: 'ProgramMembership',
  MembershipCreate: 'ProgramMembershipCreate',
  MembershipChange: 'ProgramMembershipChange',
  Membership: 'HouseholdMembership',
  AuditEventSchema: 'AuditEvent',
  VocabularySchema: 'Vocabulary',
  ExtensionSchemaOut: 'ExtensionSchema',
  AddressSchema: 'Address',
  PublicJwkSchema: 'PublicJwk',
  DciMsgHeader: 'DciMessageHeader',
  DciEnvelopeBody: 'DciEnvelope',
  DciCallbackEnvelope: 'DciCallbackEnvelope',
  DciDciErrorBody: 'DciError',
  V2PeriodSchema: 'V2Period',
};

/** Only structured schemas are named; a shared string or enum is clearer inline. */
function isStructured(value: unknown): value is TSchema {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return s.type === 'object' || Array.isArray(s.anyOf) || Array.isArray(s.oneOf) || Array.isArray(s.allOf);
}

function componentName(prefix: string, exportName: string): string {
  const plain = exportName.replace(/Schema$/, '').replace(/^G2p/, '');
  const raw = prefix ? `${prefix}${plain.replace(/In$/, 'Input').replace(/Out$/, '')}` : exportName;
  return RENAMES[exportName] ?? RENAMES[`${prefix}${exportName}`] ?? RENAMES[raw] ?? raw;
}

/** Component name → schema, in declaration order (the first of two equal shapes keeps the name). */
export function namedSchemas(): Record<string, TSchema> {
  const out: Record<string, TSchema> = {};
  for (const [prefix, module] of MODULES) {
    for (const [exportName, value] of Object.entries(module)) {
      if (!/^[A-Z]/.test(exportName) || !/[a-z]/.test(exportName) || !isStructured(value)) continue;
      const name = componentName(prefix, exportName);
      if (!(name in out)) out[name] = value;
    }
  }
  return out;
}
