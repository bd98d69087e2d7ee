import { decideMany } from '../access/person-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Queryable, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { conflict, notFound, stateConflict } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import type { VocabularyService } from '../vocabulary/service.js';
import { findHousehold, findHouseholds } from './household-repo.js';
import { identityKey } from './normalize.js';
import { rule } from './person-input.js';
import { recordVersion } from './versions.js';

/**
 * Identifiers of households (docs/decisions/0051-v2-identifiers.md): codes of the id-type
 * vocabulary with a number, unique per tenant among the current ones, kept as history when
 * replaced. A household identifier is basic data: whoever may see the household sees them.
 */
export interface HouseholdIdentityInput {
  identity_type: string;
  identity_number: string;
  status?: 'active' | 'expired' | 'revoked' | 'invalid';
}

export interface HouseholdIdentity {
  identity_type: string;
  identity_number: string;
  status: string;
}

/** Current identifiers of households, by household id. */
export async function householdIdentities(
  q: Queryable,
  tenantId: string,
  householdIds: readonly string[],
): Promise<Map<string, HouseholdIdentity[]>> {
  const out = new Map<string, HouseholdIdentity[]>(householdIds.map((id) => [id, []]));
  if (householdIds.length === 0) return out;
  const { rows } = await q.query<HouseholdIdentity & { household_id: string }>(
    `SELECT household_id, identity_type, identity_number, status FROM household_identities
      WHERE tenant_id = $1 AND household_id = ANY($2::uuid[]) AND removed_at IS NULL ORDER BY created_at, id`,
    [tenantId, householdIds],
  );
  for (const r of rows)
    out
      .get(r.household_id)
      ?.push({ identity_type: r.identity_type, identity_number: r.identity_number, status: r.status });
  return out;
}

/** Households holding a current, valid identifier (any number of them: callers decide on ambiguity). */
export async function householdsWithIdentity(
  q: Queryable,
  tenantId: string,
  identityType: string,
  number: string,
): Promise<string[]> {
  const { rows } = await q.query<{ household_id: string }>(
    `SELECT DISTINCT household_id FROM household_identities
      WHERE tenant_id = $1 AND identity_type = $2 AND identity_key = $3 AND removed_at IS NULL AND status <> 'invalid'
      ORDER BY household_id LIMIT 10`,
    [tenantId, identityType, identityKey(number)],
  );
  return rows.map((r) => r.household_id);
}

export function createHouseholdIdentityService(deps: { db: Database; vocabularies: VocabularyService }) {
  const { db, vocabularies } = deps;

  async function replaceIn(
    tx: Tx,
    actor: Actor,
    householdId: string,
    identities: readonly HouseholdIdentityInput[],
    field = 'identities',
  ): Promise<HouseholdIdentity[]> {
    const tenantId = requireTenant(actor);
    const household = await findHousehold(tx, tenantId, householdId, true);
    const d =
      household &&
      (await decideMany(tx, actor, tenantId, [household.leader_id], 'write')).get(household.leader_id);
    if (!household || !d?.visible) throw notFound('household');
    if (household.status === 'archived')
      throw stateConflict('household', 'archived', 'change the identifiers of');
    const seen = new Set<string>();
    const normalized = [];
    for (const [i, id] of identities.entries()) {
      await vocabularies.assertCode(
        tx,
        tenantId,
        'id-type',
        id.identity_type,
        `${field}[${i}].identity_type`,
      );
      const key = identityKey(id.identity_number);
      if (!key) throw rule(`${field}[${i}].identity_number`, 'has no letters or digits');
      if (seen.has(`${id.identity_type}|${key}`))
        throw rule(`${field}[${i}]`, 'the same identifier is given twice');
      seen.add(`${id.identity_type}|${key}`);
      normalized.push({
        ...id,
        identity_number: id.identity_number.trim(),
        key,
        status: id.status ?? 'active',
      });
    }
    const before = (await householdIdentities(tx, tenantId, [householdId])).get(householdId) ?? [];
    const same =
      JSON.stringify(before.map((b) => [b.identity_type, b.identity_number, b.status])) ===
      JSON.stringify(normalized.map((n) => [n.identity_type, n.identity_number, n.status]));
    if (same) return before;
    try {
      await tx.query(
        'UPDATE household_identities SET removed_at = now() WHERE tenant_id = $1 AND household_id = $2 AND removed_at IS NULL',
        [tenantId, householdId],
      );
      if (normalized.length > 0) {
        await tx.query(
          `INSERT INTO household_identities (tenant_id, id, household_id, identity_type, identity_number, identity_key, status)
           SELECT $1, x.id, $2, x.t, x.n, x.k, x.s FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
             AS x(id, t, n, k, s)`,
          [
            tenantId,
            householdId,
            normalized.map(() => uuidv7()),
            normalized.map((n) => n.identity_type),
            normalized.map((n) => n.identity_number),
            normalized.map((n) => n.key),
            normalized.map((n) => n.status),
          ],
        );
      }
    } catch (err) {
      if (isPgError(err) && err.code === PgCode.uniqueViolation) {
        throw conflict('an identifier of this household is already held by another household', field);
      }
      throw err;
    }
    const { rows } = await tx.query<{ version_id: number }>(
      `UPDATE households SET version_id = version_id + 1, updated_at = now(), updated_by = $3, last_update_system = $4
        WHERE tenant_id = $1 AND id = $2 RETURNING version_id`,
      [tenantId, householdId, actor.principal.clientId, actor.sourceSystem],
    );
    const after = normalized.map((n) => ({
      identity_type: n.identity_type,
      identity_number: n.identity_number,
      status: n.status,
    }));
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'household',
      resourceId: householdId,
      versionId: rows[0].version_id,
      change: 'update',
      fields: ['identities'],
      oldValues: { identities: before },
      newValues: { identities: after },
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        'household.identity_change',
        { type: 'household', id: householdId },
        {
          details: { before: before.length, after: after.length },
        },
      ),
    );
    await emitEvent(tx, tenantId, {
      type: 'household.updated',
      resourceType: 'household',
      resourceId: householdId,
      changedFields: ['identities'],
    });
    return after;
  }

  return {
    replaceIn,

    /** Current identifiers of the households the caller may see (others are left out). */
    async list(actor: Actor, householdIds: readonly string[]): Promise<Map<string, HouseholdIdentity[]>> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const rows = await findHouseholds(tx, tenantId, householdIds);
        const decisions = await decideMany(
          tx,
          actor,
          tenantId,
          rows.map((r) => r.leader_id),
          'read',
        );
        const visible = rows.filter((r) => decisions.get(r.leader_id)?.visible).map((r) => r.id);
        return householdIdentities(tx, tenantId, visible);
      });
    },

    /** Replaces the current identifiers of a household (a version, an audit event and an event). */
    replace: (actor: Actor, householdId: string, identities: readonly HouseholdIdentityInput[]) =>
      tenantTx(db, actor, (tx) => replaceIn(tx, actor, householdId, identities)),
  };
}

export type HouseholdIdentityService = ReturnType<typeof createHouseholdIdentityService>;
