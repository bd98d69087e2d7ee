import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import type { HouseholdCreate } from './household-schemas.js';
import type { HouseholdService } from './household-service.js';
import { rule } from './person-input.js';
import { errorUnder } from './person-merge.js';
import type { PersonCreate } from './person-schemas.js';
import type { PersonService } from './person-service.js';

export interface HouseholdRegistrationInput {
  household: Omit<HouseholdCreate, 'leader_id'>;
  /** New persons and their membership roles; exactly one has the role `head` and leads the household. */
  members: { person: Omit<PersonCreate, 'household_id' | 'relationship_type'>; relationship_type: string }[];
}

/**
 * Registers a household together with its members, all new persons, in one transaction: every
 * person, the household and every membership are written, or nothing is (G2P `POST /group`).
 */
export function createHouseholdRegistration(deps: {
  db: Database;
  persons: PersonService;
  households: HouseholdService;
}) {
  const { db, persons, households } = deps;
  return {
    async register(
      actor: Actor,
      input: HouseholdRegistrationInput,
    ): Promise<{ household_id: string; person_ids: string[] }> {
      const tenantId = requireTenant(actor);
      if (input.members.length === 0) throw rule('members', 'a household needs at least one member');
      const heads = input.members.flatMap((m, i) => (m.relationship_type === 'head' ? [i] : []));
      if (heads.length !== 1) {
        throw rule('members', `exactly one member must have the role head (found ${heads.length})`);
      }
      return tenantTx(db, actor, async (tx) => {
        const personIds: string[] = [];
        for (const [i, m] of input.members.entries()) {
          try {
            personIds.push((await persons.createIn(tx, actor, m.person)).person_id);
          } catch (err) {
            throw errorUnder(err, `members[${i}]`);
          }
        }
        const household = await households.createIn(tx, actor, {
          ...input.household,
          leader_id: personIds[heads[0]],
        });
        const today = new Date().toISOString().slice(0, 10);
        for (const [i, m] of input.members.entries()) {
          if (i === heads[0]) continue;
          try {
            await households.addMemberIn(tx, actor, tenantId, household.household_id, {
              person_id: personIds[i],
              relationship_type: m.relationship_type,
              effective_from: today,
            });
          } catch (err) {
            throw errorUnder(err, `members[${i}]`);
          }
        }
        return { household_id: household.household_id, person_ids: personIds };
      });
    },
  };
}

export type HouseholdRegistrationService = ReturnType<typeof createHouseholdRegistration>;
