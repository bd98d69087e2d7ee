import type { HouseholdIdentity, HouseholdIdentityInput } from '../../registry/household-identities.js';
import type { HouseholdView, Membership } from '../../registry/household-schemas.js';
import { rule } from '../../registry/person-input.js';
import {
  GROUP_ID_SYSTEM,
  groupReference,
  identityTypeOf,
  personReference,
  ROLE_SYSTEM,
  systemOfIdentityType,
} from './identifiers.js';
import { addressOut, coding, metaOf } from './individual-mapping.js';
import type { CodeableConceptIn, GroupMemberOpOut, GroupOut, IdentifierIn } from './schemas.js';

export interface GroupParts {
  view: HouseholdView;
  identities: HouseholdIdentity[];
  /** Memberships the caller may see, open and ended. */
  members: Membership[];
}

/** A household membership as an OpenSPP GroupMember. */
export function groupMemberOf(
  m: {
    household_id: string;
    person_id: string;
    relationship_type: string;
    effective_from: string;
    effective_until: string | null;
    ended_at: Date | string | null;
  },
  roles: Map<string, string>,
): GroupMemberOpOut {
  return {
    type: 'GroupMember',
    group: { reference: groupReference(m.household_id) },
    entity: { reference: personReference(m.person_id) },
    role: coding(ROLE_SYSTEM, m.relationship_type, roles),
    startDate: m.effective_from,
    endedDate: m.effective_until,
    status: m.ended_at ? 'inactive' : 'active',
  };
}

export function toGroup(p: GroupParts, roles: Map<string, string>): GroupOut {
  const { view } = p;
  const member = p.members.map((m) => ({
    entity: { reference: personReference(m.person_id) },
    role: coding(ROLE_SYSTEM, m.relationship_type, roles),
    period: { start: m.effective_from, ...(m.effective_until ? { end: m.effective_until } : {}) },
    inactive: m.ended_at !== null,
  }));
  const out: GroupOut = {
    type: 'Group',
    identifier: [
      { system: GROUP_ID_SYSTEM, value: view.household_id },
      ...p.identities.map((i) => ({
        system: systemOfIdentityType(i.identity_type),
        value: i.identity_number,
      })),
    ],
    active: view.status !== 'archived',
    groupType: view.group_kind,
    ...(view.household_name !== null ? { name: view.household_name } : {}),
    // Members the caller may see: hidden members are not counted either.
    quantity: member.filter((m) => !m.inactive).length,
    member,
    meta: metaOf(view),
  };
  if (view.address) out.address = [addressOut(view.address)];
  if (view.extensions && Object.keys(view.extensions).length > 0) out.extension = view.extensions;
  return out;
}

/** Identifiers of a Group → household identities (the Hearth id may only be the group's own). */
export function groupIdentitiesOf(
  identifier: readonly IdentifierIn[],
  ownId: string | null,
): HouseholdIdentityInput[] {
  const out: HouseholdIdentityInput[] = [];
  for (const [i, id] of identifier.entries()) {
    if (id.system === GROUP_ID_SYSTEM) {
      if (ownId && id.value.toLowerCase() === ownId) continue;
      throw rule(`identifier[${i}].system`, `${GROUP_ID_SYSTEM} identifiers are issued by Hearth`);
    }
    const type = identityTypeOf(id.system);
    if (!type) {
      throw rule(
        `identifier[${i}].system`,
        'is not a known identifier namespace (urn:hearth:vocab:id-type#<code>)',
      );
    }
    out.push({ identity_type: type, identity_number: id.value });
  }
  if (out.length === 0) {
    throw rule('identifier', 'needs at least one identifier whose system is an identifier namespace');
  }
  return out;
}

/** The membership-role code of a role (a code, or a CodeableConcept of the membership-role vocabulary). */
export function roleOf(role: CodeableConceptIn | string | null | undefined, field: string): string | null {
  if (role === null || role === undefined) return null;
  if (typeof role === 'string') return role;
  const c = (role.coding ?? []).find((x) => x.system === undefined || x.system === ROLE_SYSTEM);
  if (!c) throw rule(field, `needs a coding of system ${ROLE_SYSTEM}`);
  return c.code;
}
