import { type Static, Type } from 'typebox';
import type { Actor } from '../../auth/principal.js';
import { AppError, notFound } from '../../http/errors.js';
import { NIL_UUID } from '../../lib/ids.js';
import type { HouseholdFilter } from '../../registry/household-filter-search.js';
import type { HouseholdPatch } from '../../registry/household-schemas.js';
import { rule } from '../../registry/person-input.js';
import { groupIdentitiesOf, groupMemberOf, roleOf, toGroup } from './group-mapping.js';
import {
  GROUP_ID_SYSTEM,
  type Identifier,
  locationOf,
  PERSON_ID_SYSTEM,
  parseIdentifier,
  parseReference,
  registrantRef,
} from './identifiers.js';
import { addressIn } from './individual-mapping.js';
import { resolvePerson } from './individual-ops.js';
import {
  type AddMemberIn,
  GroupIn,
  type GroupMemberOpOut,
  type GroupOut,
  LastUpdatedParam,
  PagingParams,
  type RefIn,
  type RemoveMemberIn,
} from './schemas.js';
import {
  etag,
  ifMatchOf,
  labelsOf,
  mergePatch,
  type Outcome,
  prefixed,
  searchResult,
  sortOf,
  validate,
  versionConflict,
} from './support.js';
import type { Domain } from './unit-of-work.js';

const today = () => new Date().toISOString().slice(0, 10);
const refString = (r: RefIn) => (typeof r === 'string' ? r : r.reference);

export async function resolveGroup(
  d: Domain,
  actor: Actor,
  id: Identifier,
  purpose: 'read' | 'write' = 'read',
  field = 'identifier',
): Promise<string> {
  const ref = registrantRef('group', id, field);
  if (!ref) throw notFound('household');
  return d.lookup.household(actor, ref, purpose);
}

/** An Individual named in a body: one that does not exist (or is hidden) is bad input, not a missing URL. */
async function memberPerson(d: Domain, actor: Actor, ref: RefIn, field: string): Promise<string> {
  const { id } = parseReference(refString(ref), ['Individual'], field);
  try {
    return await resolvePerson(d, actor, id, 'write', field);
  } catch (err) {
    if (err instanceof AppError && err.status === 404) throw rule(field, 'no such Individual');
    throw err;
  }
}

async function render(d: Domain, actor: Actor, householdId: string, roles?: Map<string, string>) {
  const view = await d.households.get(actor, householdId);
  const identities = (await d.householdIdentities.list(actor, [householdId])).get(householdId) ?? [];
  const members = await d.households.members(actor, householdId, true);
  const resource = toGroup({ view, identities, members }, roles ?? (await labelsOf(d, actor)).role);
  return { view, resource };
}

export async function readGroup(d: Domain, actor: Actor, raw: string): Promise<Outcome<GroupOut>> {
  const householdId = await resolveGroup(d, actor, parseIdentifier(raw));
  const { view, resource } = await render(d, actor, householdId);
  return { status: 200, resource, etag: etag(view.version_id) };
}

/**
 * A Group is a household with its identifiers and members, written in the request's one
 * transaction. Exactly one member has the role `head`: the household's leader.
 */
export async function createGroup(d: Domain, actor: Actor, body: GroupIn): Promise<Outcome<GroupOut>> {
  const identities = groupIdentitiesOf(body.identifier, null);
  if (body.active === false) throw rule('active', 'a new Group is active');
  const members = [];
  for (const [i, m] of (body.member ?? []).entries()) {
    if (m.inactive) throw rule(`member[${i}].inactive`, 'a new Group has no inactive members');
    members.push({
      personId: await memberPerson(d, actor, m.entity, `member[${i}].entity`),
      role: roleOf(m.role, `member[${i}].role`) ?? 'member',
      start: m.period?.start ?? today(),
      end: m.period?.end ?? null,
    });
  }
  const heads = members.filter((m) => m.role === 'head');
  if (heads.length !== 1) {
    throw rule(
      'member',
      `exactly one member must have the role head, the household's leader (found ${heads.length})`,
    );
  }
  const address = addressIn(body.address);
  const household = await d.households.create(actor, {
    household_name: body.name,
    leader_id: heads[0].personId,
    ...(body.groupType ? { group_kind: body.groupType } : {}),
    ...(address ? { address } : {}),
    ...(body.extension ? { extensions: body.extension } : {}),
  });
  const householdId = household.household_id;
  await d.householdIdentities.replace(actor, householdId, identities);
  for (const m of members) {
    if (m === heads[0]) continue;
    await d.households.addMember(actor, householdId, {
      person_id: m.personId,
      relationship_type: m.role,
      effective_from: m.start,
      ...(m.end ? { effective_until: m.end } : {}),
    });
  }
  const { view, resource } = await render(d, actor, householdId);
  return {
    status: 201,
    resource,
    etag: etag(view.version_id),
    location: locationOf('Group', { system: GROUP_ID_SYSTEM, value: householdId }),
  };
}

/** Members as (person, role, inactive), whatever identifiers name them. */
async function memberKeys(
  d: Domain,
  actor: Actor,
  members: GroupIn['member'],
  current: boolean,
): Promise<string> {
  const keys: string[] = [];
  for (const [i, m] of (members ?? []).entries()) {
    const field = `member[${i}].entity`;
    const ref = parseReference(refString(m.entity), ['Individual'], field).id;
    const person =
      current || ref.system === PERSON_ID_SYSTEM
        ? ref.value.toLowerCase()
        : await memberPerson(d, actor, m.entity, field);
    keys.push(`${person}|${roleOf(m.role, `member[${i}].role`) ?? 'member'}|${m.inactive ? 1 : 0}`);
  }
  return JSON.stringify(keys.sort());
}

export async function updateGroup(
  d: Domain,
  actor: Actor,
  raw: string,
  body: unknown,
  mode: 'put' | 'patch',
  ifMatch: string | undefined,
): Promise<Outcome<GroupOut>> {
  const expected = ifMatchOf(ifMatch);
  const householdId = await resolveGroup(d, actor, parseIdentifier(raw), 'write');
  const roles = (await labelsOf(d, actor)).role;
  const { view, resource: current } = await render(d, actor, householdId, roles);
  if (expected !== undefined && expected !== view.version_id)
    throw versionConflict(view.version_id, expected);
  const target = mode === 'put' ? (body as GroupIn) : validate<GroupIn>(GroupIn, mergePatch(current, body));
  if (target.active !== undefined && target.active !== current.active) {
    throw rule('active', 'archive or restore the household with the native API (a reason is required)');
  }
  if (
    target.member !== undefined &&
    (await memberKeys(d, actor, target.member, false)) !== (await memberKeys(d, actor, current.member, true))
  ) {
    throw rule('member', 'members change with Group/{id}/$add-member and $remove-member');
  }
  const patch: HouseholdPatch = {};
  if (target.name !== current.name) patch.household_name = target.name;
  const kind = target.groupType ?? 'household';
  if (kind !== current.groupType) patch.group_kind = kind;
  const address = addressIn(target.address);
  if (JSON.stringify(address) !== JSON.stringify(view.address)) patch.address = address;
  if (
    target.extension !== undefined &&
    JSON.stringify(target.extension ?? {}) !== JSON.stringify(view.extensions ?? {})
  ) {
    patch.extensions = target.extension ?? {};
  }
  const identities = groupIdentitiesOf(target.identifier, householdId);
  let version = view.version_id;
  if (Object.keys(patch).length > 0) {
    version = (await d.households.patch(actor, householdId, patch, version)).version_id;
  }
  await d.householdIdentities.replace(actor, householdId, identities);
  const after = await render(d, actor, householdId, roles);
  return { status: 200, resource: after.resource, etag: etag(after.view.version_id) };
}

export async function addMember(
  d: Domain,
  actor: Actor,
  raw: string,
  body: AddMemberIn,
): Promise<Outcome<GroupMemberOpOut>> {
  const householdId = await resolveGroup(d, actor, parseIdentifier(raw), 'write');
  const personId = await memberPerson(d, actor, body.entity, 'entity');
  const m = await d.households.addMember(actor, householdId, {
    person_id: personId,
    relationship_type: roleOf(body.role, 'role') ?? 'member',
    effective_from: body.startDate ?? today(),
  });
  return { status: 201, resource: groupMemberOf(m, (await labelsOf(d, actor)).role) };
}

export async function removeMember(
  d: Domain,
  actor: Actor,
  raw: string,
  body: RemoveMemberIn,
): Promise<Outcome<GroupMemberOpOut>> {
  const householdId = await resolveGroup(d, actor, parseIdentifier(raw), 'write');
  const personId = await memberPerson(d, actor, body.entity, 'entity');
  // reason is optional in OpenSPP: without one the end is recorded as OTHER, saying none was given.
  const reasonCode = body.reasonCode ?? 'OTHER';
  const reasonText = body.reason ?? (body.reasonCode ? undefined : 'no reason given ($remove-member)');
  const m = await d.households.endMember(actor, householdId, personId, {
    effective_until: body.endedDate ?? today(),
    reason_code: reasonCode,
    ...(reasonText ? { reason_text: reasonText } : {}),
  });
  return { status: 200, resource: groupMemberOf(m, (await labelsOf(d, actor)).role) };
}

export const GroupSearchQuery = Type.Object(
  {
    identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    type: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'groupType (group-kind code)' }),
    ),
    member: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, description: 'Individual/{system}|{value}' }),
    ),
    ...LastUpdatedParam,
    ...PagingParams,
    _sort: Type.Optional(
      Type.String({ maxLength: 100, description: 'name, _lastUpdated; - for descending' }),
    ),
  },
  { additionalProperties: false },
);
export type GroupSearchQuery = Static<typeof GroupSearchQuery>;

export async function searchGroups(d: Domain, actor: Actor, q: GroupSearchQuery) {
  const count = q._count ?? 20;
  const offset = q._offset ?? 0;
  const filter: HouseholdFilter = {
    includeArchived: false,
    sort: sortOf(q._sort, { name: 'name', _lastUpdated: 'updated_at' } as const),
    offset,
    count,
    updatedAt: (q._lastUpdated ?? []).map((b) => {
      const p = prefixed(b, '_lastUpdated', true);
      return { op: p.op, at: p.value };
    }),
  };
  let empty = false;
  if (q.name !== undefined) filter.name = q.name;
  if (q.type !== undefined) filter.kind = q.type;
  if (q.identifier !== undefined) {
    if (q.identifier.includes('|')) {
      const ref = registrantRef('group', parseIdentifier(q.identifier, 'identifier'), 'identifier');
      if (!ref) empty = true;
      else if ('id' in ref) filter.householdId = ref.id;
      else filter.identity = { type: ref.identityType, number: ref.number };
    } else filter.identity = { type: null, number: q.identifier };
  }
  if (q.member !== undefined) {
    const { id } = parseReference(
      q.member.includes('/') ? q.member : `Individual/${q.member}`,
      ['Individual'],
      'member',
    );
    try {
      filter.memberPersonId = await resolvePerson(d, actor, id, 'read', 'member');
    } catch (err) {
      if (!(err instanceof AppError && err.status === 404)) throw err;
      empty = true;
    }
  }
  const found = await d.householdSearch.search(actor, empty ? { ...filter, householdId: NIL_UUID } : filter);
  const roles = (await labelsOf(d, actor)).role;
  const identities = await d.householdIdentities.list(
    actor,
    found.data.map((h) => h.household_id),
  );
  const data: GroupOut[] = [];
  for (const view of found.data) {
    const members = await d.households.members(actor, view.household_id, true);
    data.push(toGroup({ view, identities: identities.get(view.household_id) ?? [], members }, roles));
  }
  return searchResult('Group', q, data, found.total, offset, count);
}
