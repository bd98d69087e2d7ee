import { decideMany, mayMatch, type Purpose, sees } from '../../access/person-access.js';
import type { Actor } from '../../auth/principal.js';
import type { Queryable } from '../../db/database.js';
import { householdIdentities } from '../../registry/household-identities.js';
import {
  findHouseholds,
  openMembershipsOfPersons,
  openMembersOfHouseholds,
} from '../../registry/household-repo.js';
import { householdView } from '../../registry/household-service.js';
import { findPersons } from '../../registry/person-repo.js';
import type { PersonView } from '../../registry/person-schemas.js';
import { personView } from '../../registry/person-view.js';
import type { GroupParts, PersonHousehold } from './records.js';
import { geoNames } from './search-repo.js';

/**
 * Persons and households as the DCI sender may see them, through the one access decision
 * (person-access.ts): a person the decision hides is dropped, never counted, never sent.
 */

/** Visible, active persons among `ids`, in the order of `ids`. */
export async function personViews(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  ids: readonly string[],
  purpose: Purpose,
  matched: Iterable<string>,
): Promise<PersonView[]> {
  if (ids.length === 0) return [];
  const decisions = await decideMany(q, actor, tenantId, ids, purpose);
  const rows = await findPersons(q, tenantId, ids);
  const fields = [...matched];
  return rows
    .filter((r) => r.status === 'active' && mayMatch(decisions.get(r.id), fields))
    .map((r) => personView(r, decisions.get(r.id)!));
}

/**
 * Households whose head the caller may see (a household is seen through its head's consent),
 * with only the members the caller may see.
 */
export async function groupParts(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  ids: readonly string[],
  purpose: Purpose,
  matched: Iterable<string>,
): Promise<GroupParts[]> {
  if (ids.length === 0) return [];
  const rows = (await findHouseholds(q, tenantId, ids)).filter((h) => h.status !== 'archived');
  const links = await openMembersOfHouseholds(
    q,
    tenantId,
    rows.map((h) => h.id),
  );
  const personIds = [...new Set([...rows.map((h) => h.leader_id), ...links.map((l) => l.person_id)])];
  const decisions = await decideMany(q, actor, tenantId, personIds, purpose);
  const persons = new Map(
    (await personViews(q, actor, tenantId, personIds, purpose, [])).map((v) => [v.person_id, v]),
  );
  const fields = [...matched];
  const geoIds = new Set<string>();
  const out: GroupParts[] = [];
  for (const row of rows) {
    const d = decisions.get(row.leader_id);
    if (!d || !mayMatch(d, fields.map(householdField))) continue;
    const household = householdView(row, d);
    if (household.geo_id) geoIds.add(household.geo_id);
    const members = links
      .filter((l) => l.household_id === row.id && persons.has(l.person_id))
      .map((l) => ({ view: persons.get(l.person_id)!, role: l.relationship_type }));
    out.push({
      household,
      head: persons.get(row.leader_id) ?? null,
      members,
      geo: null,
      identifiers: [],
      exactPosition: household.geo_lat !== null && household.geo_lon !== null,
    });
  }
  const geo = await geoNames(q, tenantId, [...geoIds]);
  const identifiers = await activeIdentifiers(
    q,
    tenantId,
    out.map((g) => g.household.household_id),
  );
  for (const g of out) {
    g.geo = g.household.geo_id ? (geo.get(g.household.geo_id) ?? null) : null;
    g.identifiers = identifiers.get(g.household.household_id) ?? [];
  }
  return out;
}

/** Active identifiers of households (a household identifier is seen with its household, 0051). */
async function activeIdentifiers(
  q: Queryable,
  tenantId: string,
  householdIds: readonly string[],
): Promise<Map<string, PersonHousehold['identifiers']>> {
  const all = await householdIdentities(q, tenantId, householdIds);
  return new Map(
    [...all].map(([id, list]) => [
      id,
      list
        .filter((i) => i.status === 'active')
        .map((i) => ({ identity_type: i.identity_type, identity_number: i.identity_number })),
    ]),
  );
}

/**
 * The current households of persons already seen (`views`), as the caller may see them: only
 * when the caller may see the person's `household_id` field (its classification), and only
 * households that are not archived and whose head the caller may see (a household is seen
 * through its head's consent, as in groupParts). Households hold no contacts in Hearth, so no
 * phone number comes from here.
 */
export async function personHouseholds(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  views: readonly PersonView[],
  purpose: Purpose,
): Promise<Map<string, PersonHousehold[]>> {
  const out = new Map<string, PersonHousehold[]>();
  if (views.length === 0) return out;
  const ids = views.map((v) => v.person_id);
  const decisions = await decideMany(q, actor, tenantId, ids, purpose);
  const allowed = ids.filter((id) => mayMatch(decisions.get(id), ['household_id']));
  const namesShown = new Set(allowed.filter((id) => sees(decisions.get(id)!, 'household.household_name')));
  const links = await openMembershipsOfPersons(q, tenantId, allowed);
  const rows = (await findHouseholds(q, tenantId, [...new Set(links.map((l) => l.household_id))])).filter(
    (h) => h.status !== 'archived',
  );
  const heads = await decideMany(q, actor, tenantId, [...new Set(rows.map((h) => h.leader_id))], purpose);
  const seen = new Map(rows.filter((h) => heads.get(h.leader_id)?.visible).map((h) => [h.id, h]));
  const identifiers = await activeIdentifiers(q, tenantId, [...seen.keys()]);
  for (const l of links) {
    const h = seen.get(l.household_id);
    if (!h) continue;
    const list = out.get(l.person_id) ?? [];
    list.push({
      household_id: h.id,
      household_name: namesShown.has(l.person_id) ? h.household_name : null,
      identifiers: identifiers.get(h.id) ?? [],
    });
    out.set(l.person_id, list);
  }
  return out;
}

/** A group is matched on its head's household fields; a person field stands for the head's own. */
function householdField(field: string): string {
  return field === 'geo_id' || field === 'household_name' ? `household.${field}` : field;
}
