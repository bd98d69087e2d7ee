import type { AppContext } from '../../app.js';
import type { Actor } from '../../auth/principal.js';
import { requireTenant } from '../../db/tx.js';
import { createMembershipService } from '../../programs/membership-service.js';
import { createProgramService } from '../../programs/program-service.js';
import { createHouseholdFilterSearch } from '../../registry/household-filter-search.js';
import { createHouseholdIdentityService } from '../../registry/household-identities.js';
import { createHouseholdService } from '../../registry/household-service.js';
import { createPersonFilterSearch } from '../../registry/person-filter-search.js';
import { createPersonService } from '../../registry/person-service.js';
import { createRegistrantLookup } from '../../registry/registrant-lookup.js';
import { createVerticalService } from '../../tenancy/service.js';
import { createVocabularyService } from '../../vocabulary/service.js';
import { boundDatabase } from './bound-db.js';

/** The domain services one V2 request uses, all bound to the request's single transaction. */
export type Domain = ReturnType<typeof domainOver>;

function domainOver(context: AppContext, db: ReturnType<typeof boundDatabase>) {
  const { settings, vocabularies, extensions } = context.services;
  const deps = { db, settings, vocabularies, extensions };
  const programs = createProgramService({ db, verticals: createVerticalService(db) });
  return {
    persons: createPersonService(deps),
    households: createHouseholdService(deps),
    householdIdentities: createHouseholdIdentityService({ db, vocabularies }),
    lookup: createRegistrantLookup({ db, settings }),
    personSearch: createPersonFilterSearch(deps),
    householdSearch: createHouseholdFilterSearch({ db, vocabularies }),
    programs,
    memberships: createMembershipService({ db, programs }),
    vocabularies: createVocabularyService(db),
  };
}

/**
 * Runs one V2 operation (or a whole `$batch` transaction) in one tenant transaction: every
 * domain call inside sees the same snapshot and everything commits, or nothing does. The face
 * only sequences domain calls; every rule stays in the services.
 */
export function unitOfWork(context: AppContext) {
  return <T>(actor: Actor, fn: (d: Domain) => Promise<T>): Promise<T> => {
    requireTenant(actor);
    return context.db.transaction((tx) => fn(domainOver(context, boundDatabase(tx, context.db.kind))), {
      tenantId: actor.tenantId,
    });
  };
}

export type UnitOfWork = ReturnType<typeof unitOfWork>;
