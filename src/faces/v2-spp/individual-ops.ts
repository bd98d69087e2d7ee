import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { Actor } from '../../auth/principal.js';
import { notFound } from '../../http/errors.js';
import { NIL_UUID } from '../../lib/ids.js';
import type { PersonFilter } from '../../registry/person-filter-search.js';
import { ISO_5218, namespaceOf } from '../../vocabulary/seed.js';
import { groupMemberOf } from './group-mapping.js';
import {
  badRequest,
  type Identifier,
  locationOf,
  PERSON_ID_SYSTEM,
  parseIdentifier,
  registrantRef,
} from './identifiers.js';
import { createInputOf, type Labels, patchInputOf, toIndividual } from './individual-mapping.js';
import { IndividualIn, type IndividualOut, LastUpdatedParam, PagingParams } from './schemas.js';
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

/** The person an identifier names among those the caller may see (404 / 409 otherwise). */
export async function resolvePerson(
  d: Domain,
  actor: Actor,
  id: Identifier,
  purpose: 'read' | 'write' = 'read',
  field = 'identifier',
): Promise<string> {
  const ref = registrantRef('person', id, field);
  if (!ref) throw notFound('person');
  return d.lookup.person(actor, ref, purpose);
}

async function render(d: Domain, actor: Actor, personId: string, labels?: Labels) {
  const view = await d.persons.get(actor, personId);
  const groups = await d.lookup.groupsOf(actor, personId, false);
  return { view, resource: toIndividual(view, groups, labels ?? (await labelsOf(d, actor))) };
}

export async function readIndividual(d: Domain, actor: Actor, raw: string): Promise<Outcome<IndividualOut>> {
  const personId = await resolvePerson(d, actor, parseIdentifier(raw));
  const { view, resource } = await render(d, actor, personId);
  return { status: 200, resource, etag: etag(view.version_id) };
}

export async function createIndividual(
  d: Domain,
  actor: Actor,
  body: IndividualIn,
): Promise<Outcome<IndividualOut>> {
  const created = await d.persons.create(actor, createInputOf(body));
  const { view, resource } = await render(d, actor, created.person_id);
  return {
    status: 201,
    resource,
    etag: etag(view.version_id),
    location: locationOf('Individual', { system: PERSON_ID_SYSTEM, value: view.person_id }),
  };
}

/**
 * PUT (full replacement) or PATCH (JSON Merge Patch): the change is computed against what the
 * caller sees and written as one native patch, guarded by If-Match when given.
 */
export async function updateIndividual(
  d: Domain,
  actor: Actor,
  raw: string,
  body: unknown,
  mode: 'put' | 'patch',
  ifMatch: string | undefined,
): Promise<Outcome<IndividualOut>> {
  const expected = ifMatchOf(ifMatch);
  const personId = await resolvePerson(d, actor, parseIdentifier(raw), 'write');
  const labels = await labelsOf(d, actor);
  const { view, resource: current } = await render(d, actor, personId, labels);
  if (expected !== undefined && expected !== view.version_id)
    throw versionConflict(view.version_id, expected);
  const target =
    mode === 'put' ? (body as IndividualIn) : validate<IndividualIn>(IndividualIn, mergePatch(current, body));
  const patch = patchInputOf(view, current, target);
  if (Object.keys(patch).length > 0) await d.persons.patch(actor, personId, patch, view.version_id);
  const after = await render(d, actor, personId, labels);
  return { status: 200, resource: after.resource, etag: etag(after.view.version_id) };
}

export const IndividualSearchQuery = Type.Object(
  {
    identifier: Type.Optional(
      Type.String({ minLength: 1, maxLength: 320, description: '{system}|{value}, or a value' }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the name' })),
    birthdate: Type.Optional(
      Type.Array(Type.String({ maxLength: 40 }), {
        maxItems: 2,
        description: '[eq|ne|gt|ge|lt|le]YYYY-MM-DD',
      }),
    ),
    gender: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: `${ISO_5218}|{code}, or a code` }),
    ),
    group: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, description: 'a Group {system}|{value}, or none' }),
    ),
    ...LastUpdatedParam,
    ...PagingParams,
    _sort: Type.Optional(
      Type.String({ maxLength: 100, description: 'name, birthdate, _lastUpdated; - for descending' }),
    ),
  },
  { additionalProperties: false },
);
export type IndividualSearchQuery = Static<typeof IndividualSearchQuery>;

const GENDER_SYSTEMS = new Set([ISO_5218, namespaceOf('gender')]);

/** Malformed values → 400; well-formed values naming nothing known → an empty result, never a wider one. */
export async function searchIndividuals(d: Domain, actor: Actor, q: IndividualSearchQuery) {
  const count = q._count ?? 20;
  const offset = q._offset ?? 0;
  const filter: PersonFilter = {
    status: 'active',
    sort: sortOf(q._sort, { name: 'name', birthdate: 'birth_date', _lastUpdated: 'updated_at' } as const),
    offset,
    count,
    birthDate: (q.birthdate ?? []).map((b) => {
      const p = prefixed(b, 'birthdate');
      return { op: p.op, date: p.value };
    }),
    updatedAt: (q._lastUpdated ?? []).map((b) => {
      const p = prefixed(b, '_lastUpdated', true);
      return { op: p.op, at: p.value };
    }),
  };
  let empty = false;
  if (q.name !== undefined) filter.name = q.name;
  if (q.identifier !== undefined) {
    if (q.identifier.includes('|')) {
      const id = parseIdentifier(q.identifier, 'identifier');
      const ref = registrantRef('person', id, 'identifier');
      if (!ref) empty = true;
      else if ('id' in ref) filter.personId = ref.id;
      else filter.identity = { type: ref.identityType, number: ref.number };
    } else filter.identity = { type: null, number: q.identifier };
  }
  if (q.gender !== undefined) {
    const i = q.gender.indexOf('|');
    const system = i >= 0 ? q.gender.slice(0, i) : null;
    const code = i >= 0 ? q.gender.slice(i + 1) : q.gender;
    if (!code) throw badRequest('gender', `must be ${ISO_5218}|{code} or a code`);
    if (system !== null && !GENDER_SYSTEMS.has(system)) empty = true;
    filter.gender = code;
  }
  if (q.group !== undefined) {
    if (q.group === 'none') filter.householdId = null;
    else {
      const id = parseIdentifier(q.group.startsWith('Group/') ? q.group.slice(6) : q.group, 'group');
      const ref = registrantRef('group', id, 'group');
      if (!ref) empty = true;
      else {
        try {
          filter.householdId = await d.lookup.household(actor, ref);
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err;
          empty = true;
        }
      }
    }
  }
  // An empty answer still runs the search (with an id nobody has), so the refusals (scopes on
  // sensitive criteria) are the same whatever the values name.
  const found = await d.personSearch.search(actor, empty ? { ...filter, personId: NIL_UUID } : filter);
  const labels = await labelsOf(d, actor);
  const data = found.data.map((v) => toIndividual(v, [], labels));
  return searchResult('Individual', q, data, found.total, offset, count);
}

/** `GET /Individual/{id}/groups`: the person's household memberships, as GroupMember resources. */
export async function groupsOfIndividual(
  d: Domain,
  actor: Actor,
  raw: string,
  status: 'active' | 'inactive' | undefined,
  count: number,
) {
  const personId = await resolvePerson(d, actor, parseIdentifier(raw));
  const labels = await labelsOf(d, actor);
  const all = await d.lookup.groupsOf(actor, personId, status !== 'active');
  const chosen = all.filter((m) =>
    status === undefined ? true : status === 'active' ? !m.ended_at : !!m.ended_at,
  );
  return {
    type: 'GroupMembershipList' as const,
    total: chosen.length,
    entry: chosen.slice(0, count).map((m) => ({ resource: groupMemberOf(m, labels.role) })),
  };
}
