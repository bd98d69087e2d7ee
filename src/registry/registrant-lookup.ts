import { decideMany, mayMatch, readablePerson, sees } from '../access/person-access.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { conflict, notFound } from '../http/errors.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { householdsWithIdentity } from './household-identities.js';
import { findHouseholds, listMemberships, type MembershipRow } from './household-repo.js';
import { identityKey } from './normalize.js';
import { findPerson } from './person-repo.js';

/** A registrant named by its Hearth id or by one of its identifiers (id-type code + number). */
export type RegistrantRef = { id: string } | { identityType: string; number: string };

/**
 * Resolves identifiers to registrants for the faces that address records by `{system}|{value}`
 * (docs/decisions/0051-v2-identifiers.md). Among the registrants the caller may see: none → the
 * 404 of a missing record, several → 409 (never a silent pick). Looking a person up by an
 * identity number the caller holds is allowed to any reader of persons; only persons the
 * decision lets it see are found.
 */
export function createRegistrantLookup(deps: { db: Database; settings: TenantSettingsCache }) {
  const { db } = deps;

  async function personIn(tx: Tx, actor: Actor, ref: RegistrantRef, purpose: 'read' | 'write' = 'read') {
    const tenantId = requireTenant(actor);
    if ('id' in ref) {
      await readablePerson(tx, actor, tenantId, await findPerson(tx, tenantId, ref.id), purpose);
      return ref.id;
    }
    // An exact identifier the caller holds: any reader of persons may use it (src/access,
    // CriterionUse 'identifier'); the persons found still pass the decision.
    const { rows } = await tx.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM person_identities
        WHERE tenant_id = $1 AND identity_type = $2 AND identity_key = $3 AND removed_at IS NULL
          AND status <> 'invalid' AND NOT person_archived
        ORDER BY person_id LIMIT 10`,
      [tenantId, ref.identityType, identityKey(ref.number)],
    );
    const ids = rows.map((r) => r.person_id);
    const decisions = await decideMany(tx, actor, tenantId, ids, purpose === 'write' ? 'write' : 'search');
    const matches = ids.filter((id) => mayMatch(decisions.get(id), []));
    if (matches.length === 0) throw notFound('person');
    if (matches.length > 1)
      throw conflict('the identifier is held by more than one person; address one by its Hearth id');
    return matches[0];
  }

  async function householdIn(tx: Tx, actor: Actor, ref: RegistrantRef, purpose: 'read' | 'write' = 'read') {
    const tenantId = requireTenant(actor);
    const ids =
      'id' in ref ? [ref.id] : await householdsWithIdentity(tx, tenantId, ref.identityType, ref.number);
    const rows = await findHouseholds(tx, tenantId, ids);
    const decisions = await decideMany(
      tx,
      actor,
      tenantId,
      rows.map((r) => r.leader_id),
      purpose,
    );
    const matches = rows.filter((r) => decisions.get(r.leader_id)?.visible).map((r) => r.id);
    if (matches.length === 0) throw notFound('household');
    if (matches.length > 1)
      throw conflict('the identifier is held by more than one household; address one by its Hearth id');
    return matches[0];
  }

  return {
    personIn,
    householdIn,
    person: (actor: Actor, ref: RegistrantRef, purpose: 'read' | 'write' = 'read') =>
      tenantTx(db, actor, (tx) => personIn(tx, actor, ref, purpose)),
    household: (actor: Actor, ref: RegistrantRef, purpose: 'read' | 'write' = 'read') =>
      tenantTx(db, actor, (tx) => householdIn(tx, actor, ref, purpose)),

    /**
     * Household memberships of a person the caller may read, when it may see the person's
     * households (the household_id field); otherwise none. Households it may not see are left out.
     */
    async groupsOf(actor: Actor, personId: string, includeEnded: boolean): Promise<MembershipRow[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const person = await findPerson(tx, tenantId, personId);
        const d = await readablePerson(tx, actor, tenantId, person, 'read');
        if (!sees(d, 'household_id')) return [];
        const memberships = await listMemberships(tx, tenantId, { personId, includeEnded });
        const households = new Map(
          (await findHouseholds(tx, tenantId, [...new Set(memberships.map((m) => m.household_id))])).map(
            (h) => [h.id, h],
          ),
        );
        const leaders = [...new Set([...households.values()].map((h) => h.leader_id))];
        const seen = await decideMany(tx, actor, tenantId, leaders, 'read');
        return memberships.filter((m) => {
          const h = households.get(m.household_id);
          return h && seen.get(h.leader_id)?.visible;
        });
      });
    },
  };
}

export type RegistrantLookup = ReturnType<typeof createRegistrantLookup>;
