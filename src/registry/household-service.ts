import {
  decideMany,
  noteMasking,
  type PersonDecision,
  readablePerson,
  sees,
} from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import { assertSeparateDuties } from '../access/separation.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, conflict, notFound, stateConflict } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import { assertGeoArea } from './geo.js';
import * as hrepo from './household-repo.js';
import {
  HOUSEHOLD_NOT_UPDATABLE,
  type HouseholdCreate,
  type HouseholdPatch,
  type HouseholdView,
  type MemberAdd,
  type MemberEnd,
  type Membership,
} from './household-schemas.js';
import { type InputDeps, rule } from './person-input.js';
import { findPerson, findPersons } from './person-repo.js';
import type { ArchiveBody, PersonView, RestoreBody } from './person-schemas.js';
import { personView } from './person-view.js';
import { listVersions, recordVersion } from './versions.js';

export interface HouseholdServiceDeps extends InputDeps {
  db: Database;
  settings: TenantSettingsCache;
}

const GEO_FIELDS = ['geo_lat', 'geo_lon', 'geo_accuracy', 'geo_captured_at'] as const;

/**
 * A household is seen through its head's decision: each field as the reader sees
 * `household.<field>` (src/access; the exact position is sensitive by default).
 */
export function householdView(row: hrepo.HouseholdRow, d: PersonDecision): HouseholdView {
  const masked: string[] = [];
  const show = <T>(field: string, value: T): T | null => {
    if (sees(d, `household.${field}`)) return value;
    if (value !== null) masked.push(field);
    return null;
  };
  return {
    household_id: row.id,
    household_name: show('household_name', row.household_name),
    leader_id: row.leader_id,
    geo_id: show('geo_id', row.geo_id),
    address: show('address', row.address),
    status: row.status,
    geo_lat: show('geo_lat', row.geo_lat),
    geo_lon: show('geo_lon', row.geo_lon),
    geo_accuracy: show('geo_accuracy', row.geo_accuracy),
    geo_captured_at: show('geo_captured_at', row.geo_captured_at?.toISOString() ?? null),
    group_kind: row.group_kind,
    extensions: show('extensions', row.extensions),
    member_count: show('member_count', row.member_count),
    archived_at: row.archived_at?.toISOString() ?? null,
    version_id: row.version_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    provenance: show('provenance', {
      created_by: row.created_by,
      source_system: row.source_system,
      collection_method: row.collection_method,
      recorded_at: row.created_at.toISOString(),
      updated_by: row.updated_by,
      last_update_system: row.last_update_system,
    }),
    masked_fields: noteMasking(d, masked),
  };
}

export function membershipOut(m: hrepo.MembershipRow): Membership {
  return {
    membership_id: m.id,
    household_id: m.household_id,
    person_id: m.person_id,
    relationship_type: m.relationship_type,
    effective_from: m.effective_from,
    effective_until: m.effective_until,
    verification_status: m.verification_status,
    ended_at: m.ended_at?.toISOString() ?? null,
    end_reason_code: m.end_reason_code,
    version_id: m.version_id,
  };
}

function assertLatLon(lat: number | null | undefined, lon: number | null | undefined): void {
  if ((lat === undefined || lat === null) !== (lon === undefined || lon === null)) {
    throw rule(lat === undefined || lat === null ? 'geo_lat' : 'geo_lon', 'geo_lat and geo_lon go together');
  }
}

export function createHouseholdService(deps: HouseholdServiceDeps) {
  const { db, vocabularies, extensions } = deps;

  /** The household and the decision of its leader; hidden from consent-bound callers like a missing one. */
  async function load(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    id: string,
    purpose: 'read' | 'write',
    lock = false,
  ) {
    const row = await hrepo.findHousehold(tx, tenantId, id, lock);
    if (!row) throw notFound('household');
    const d = (await decideMany(tx, actor, tenantId, [row.leader_id], purpose)).get(row.leader_id)!;
    if (!d.visible) throw notFound('household');
    return { row, d };
  }

  async function viewOf(tx: Tx, actor: Actor, tenantId: string, id: string): Promise<HouseholdView> {
    const { row, d } = await load(tx, actor, tenantId, id, 'read');
    return householdView(row, d);
  }

  async function assertLeader(tx: Tx, actor: Actor, tenantId: string, leaderId: string): Promise<void> {
    const leader = await findPerson(tx, tenantId, leaderId);
    if (!leader) throw rule('leader_id', 'no such person in this tenant');
    await readablePerson(tx, actor, tenantId, leader, 'write').catch(() => {
      throw rule('leader_id', 'no such person in this tenant');
    });
    if (leader.status === 'archived') throw rule('leader_id', 'the person is archived');
  }

  /** Adds an open membership; the person's primary household is set when it has none. */
  async function addMembershipIn(tx: Tx, actor: Actor, tenantId: string, householdId: string, m: MemberAdd) {
    try {
      const row = await hrepo.insertMembership(tx, {
        tenantId,
        id: uuidv7(),
        householdId,
        personId: m.person_id,
        relationshipType: m.relationship_type,
        effectiveFrom: m.effective_from,
        effectiveUntil: m.effective_until ?? null,
        verificationStatus: m.verification_status ?? 'provisional',
        createdBy: actor.principal.clientId,
      });
      await tx.query(
        'UPDATE persons SET household_id = $3 WHERE tenant_id = $1 AND id = $2 AND household_id IS NULL',
        [tenantId, m.person_id, householdId],
      );
      await emitEvent(tx, tenantId, {
        type: 'membership.added',
        resourceType: 'household',
        resourceId: householdId,
        personId: m.person_id,
        data: { household_id: householdId, person_id: m.person_id, membership_id: row.id },
      });
      return row;
    } catch (err) {
      if (isPgError(err) && err.code === PgCode.uniqueViolation) {
        throw conflict('the person already has an open membership in this household', 'person_id');
      }
      throw err;
    }
  }

  async function changeStatus(
    actor: Actor,
    id: string,
    change: 'archive' | 'restore',
    body: ArchiveBody | RestoreBody,
  ) {
    const tenantId = requireTenant(actor);
    checkReason(
      body.reason_code,
      body.reason_text,
      undefined,
      'reason_code',
      'reason_text',
      change === 'archive',
    );
    return tenantTx(db, actor, async (tx) => {
      const { row } = await load(tx, actor, tenantId, id, 'write', true);
      if (change === 'archive' && row.status === 'archived')
        throw stateConflict('household', row.status, change);
      if (change === 'restore' && row.status !== 'archived')
        throw stateConflict('household', row.status, change);
      const to = change === 'archive' ? 'archived' : (row.status_before_archive ?? 'provisional');
      // Archiving ends nothing silently: memberships keep their history and stay as they were.
      const { rows } = await tx.query<{ version_id: number }>(
        `UPDATE households SET status = $3, status_before_archive = $4, archived_at = $5, status_reason_code = $6,
                status_reason_text = $7, version_id = version_id + 1, updated_at = now(), updated_by = $8
          WHERE tenant_id = $1 AND id = $2 RETURNING version_id`,
        [
          tenantId,
          id,
          to,
          change === 'archive' ? row.status : null,
          change === 'archive' ? new Date().toISOString() : null,
          body.reason_code ?? null,
          body.reason_text ?? null,
          actor.principal.clientId,
        ],
      );
      await recordVersion(tx, actor, tenantId, {
        resourceType: 'household',
        resourceId: id,
        versionId: rows[0].version_id,
        change,
        fields: ['status'],
        oldValues: { status: row.status },
        newValues: { status: to },
        reasonCode: body.reason_code,
        reasonText: body.reason_text,
      });
      await recordAudit(tx, actor, auditOf(actor, `household.${change}`, { type: 'household', id }));
      if (change === 'archive') {
        await emitEvent(tx, tenantId, {
          type: 'household.archived',
          resourceType: 'household',
          resourceId: id,
          changedFields: ['status'],
        });
      } else {
        await emitEvent(tx, tenantId, {
          type: 'household.updated',
          resourceType: 'household',
          resourceId: id,
          changedFields: ['status'],
        });
      }
      return viewOf(tx, actor, tenantId, id);
    });
  }

  return {
    viewOf,

    async createIn(
      tx: Tx,
      actor: Actor,
      input: HouseholdCreate,
      collectionMethod = 'api',
    ): Promise<HouseholdView> {
      const tenantId = requireTenant(actor);
      if (input.household_name.trim() === '') throw rule('household_name', 'must not be blank');
      assertLatLon(input.geo_lat, input.geo_lon);
      await assertLeader(tx, actor, tenantId, input.leader_id);
      if (input.geo_id) await assertGeoArea(tx, tenantId, input.geo_id);
      const kind = input.group_kind ?? 'household';
      await vocabularies.assertCode(tx, tenantId, 'group-kind', kind, 'group_kind');
      if (input.extensions) await extensions.validate(tx, tenantId, 'household', input.extensions);
      const id = uuidv7();
      await tx.query(
        `INSERT INTO households (tenant_id, id, household_name, leader_id, geo_id, address, status, geo_lat, geo_lon,
           geo_accuracy, geo_captured_at, group_kind, extensions, created_by, source_system, collection_method)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [
          tenantId,
          id,
          input.household_name.trim(),
          input.leader_id,
          input.geo_id ?? null,
          input.address ? JSON.stringify(input.address) : null,
          input.status ?? 'provisional',
          input.geo_lat ?? null,
          input.geo_lon ?? null,
          input.geo_accuracy ?? null,
          input.geo_captured_at ?? (input.geo_lat !== undefined ? new Date().toISOString() : null),
          kind,
          JSON.stringify(input.extensions ?? {}),
          actor.principal.clientId,
          actor.sourceSystem,
          collectionMethod,
        ],
      );
      await addMembershipIn(tx, actor, tenantId, id, {
        person_id: input.leader_id,
        relationship_type: 'head',
        effective_from: new Date().toISOString().slice(0, 10),
      });
      const fields = Object.keys(input);
      await recordVersion(tx, actor, tenantId, {
        resourceType: 'household',
        resourceId: id,
        versionId: 1,
        change: 'create',
        fields,
      });
      await recordAudit(tx, actor, auditOf(actor, 'household.create', { type: 'household', id }));
      await emitEvent(tx, tenantId, {
        type: 'household.created',
        resourceType: 'household',
        resourceId: id,
        changedFields: fields,
      });
      return viewOf(tx, actor, tenantId, id);
    },

    async create(actor: Actor, input: HouseholdCreate): Promise<HouseholdView> {
      return tenantTx(db, actor, (tx) => this.createIn(tx, actor, input));
    },

    async get(actor: Actor, id: string): Promise<HouseholdView> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, (tx) => viewOf(tx, actor, tenantId, id));
    },

    async patch(actor: Actor, id: string, input: HouseholdPatch, ifMatch?: number): Promise<HouseholdView> {
      const tenantId = requireTenant(actor);
      for (const f of HOUSEHOLD_NOT_UPDATABLE) if (f in input) throw rule(f, 'is not updatable');
      if (input.household_name !== undefined && input.household_name.trim() === '') {
        throw rule('household_name', 'must not be blank');
      }
      return tenantTx(db, actor, async (tx) => {
        const { row } = await load(tx, actor, tenantId, id, 'write', true);
        if (row.status === 'archived') throw stateConflict('household', row.status, 'update');
        if (ifMatch !== undefined && ifMatch !== row.version_id) {
          throw new AppError('ERR_PRECONDITION_FAILED', `version_id is ${row.version_id}, not ${ifMatch}`, {
            extra: { current_version_id: row.version_id },
          });
        }
        const lat = input.geo_lat !== undefined ? input.geo_lat : row.geo_lat;
        const lon = input.geo_lon !== undefined ? input.geo_lon : row.geo_lon;
        assertLatLon(lat, lon);
        if (input.leader_id !== undefined && input.leader_id !== row.leader_id) {
          await assertLeader(tx, actor, tenantId, input.leader_id);
        }
        if (input.geo_id) await assertGeoArea(tx, tenantId, input.geo_id);
        if (input.group_kind !== undefined)
          await vocabularies.assertCode(tx, tenantId, 'group-kind', input.group_kind, 'group_kind');
        if (input.extensions) await extensions.validate(tx, tenantId, 'household', input.extensions);
        const current: Record<string, unknown> = {
          household_name: row.household_name,
          leader_id: row.leader_id,
          geo_id: row.geo_id,
          address: row.address,
          status: row.status,
          geo_lat: row.geo_lat,
          geo_lon: row.geo_lon,
          geo_accuracy: row.geo_accuracy,
          geo_captured_at: row.geo_captured_at?.toISOString() ?? null,
          group_kind: row.group_kind,
          extensions: row.extensions,
        };
        const changed: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(input)) {
          if (!(k in current)) continue;
          if (JSON.stringify(v ?? null) !== JSON.stringify(current[k] ?? null)) changed[k] = v ?? null;
        }
        // Separation of duties: whoever registered the household does not verify it.
        if (changed.status === 'verified')
          assertSeparateDuties(await readerOf(tx, actor, tenantId), actor, 'household', [row.created_by]);
        const geoChanged = GEO_FIELDS.some((f) => f in changed);
        if (geoChanged && !('geo_captured_at' in changed) && changed.geo_lat !== null) {
          changed.geo_captured_at = new Date().toISOString();
        }
        const fields = Object.keys(changed);
        if (fields.length === 0) return viewOf(tx, actor, tenantId, id);
        const params: unknown[] = [tenantId, id, actor.principal.clientId, actor.sourceSystem];
        const sets = fields.map((f) => {
          const v = changed[f];
          params.push(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
          return `${f} = $${params.length}`;
        });
        const { rows } = await tx.query<{ version_id: number }>(
          `UPDATE households SET ${sets.join(', ')}, version_id = version_id + 1, updated_at = now(), updated_by = $3,
                  last_update_system = $4 WHERE tenant_id = $1 AND id = $2 RETURNING version_id`,
          params,
        );
        const oldValues = Object.fromEntries(fields.map((f) => [f, current[f] ?? null]));
        await recordVersion(tx, actor, tenantId, {
          resourceType: 'household',
          resourceId: id,
          versionId: rows[0].version_id,
          change: 'update',
          fields,
          oldValues,
          newValues: changed,
        });
        await recordAudit(
          tx,
          actor,
          auditOf(actor, 'household.update', { type: 'household', id }, { details: { fields } }),
        );
        if (geoChanged) {
          await recordAudit(
            tx,
            actor,
            auditOf(
              actor,
              'household.geolocation_change',
              { type: 'household', id },
              {
                details: { fields: fields.filter((f) => (GEO_FIELDS as readonly string[]).includes(f)) },
              },
            ),
          );
        }
        if (changed.leader_id) {
          const open = await hrepo.findOpenMembership(tx, tenantId, id, changed.leader_id as string);
          if (!open) {
            await addMembershipIn(tx, actor, tenantId, id, {
              person_id: changed.leader_id as string,
              relationship_type: 'head',
              effective_from: new Date().toISOString().slice(0, 10),
            });
          }
        }
        await emitEvent(tx, tenantId, {
          type: 'household.updated',
          resourceType: 'household',
          resourceId: id,
          changedFields: fields,
        });
        return viewOf(tx, actor, tenantId, id);
      });
    },

    archive: (actor: Actor, id: string, body: ArchiveBody) => changeStatus(actor, id, 'archive', body),
    restore: (actor: Actor, id: string, body: RestoreBody) => changeStatus(actor, id, 'restore', body),

    addMembershipIn,

    async addMember(actor: Actor, householdId: string, input: MemberAdd): Promise<Membership> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, (tx) => this.addMemberIn(tx, actor, tenantId, householdId, input));
    },

    /** addMember inside the caller's transaction (checks, version and audit included). */
    async addMemberIn(
      tx: Tx,
      actor: Actor,
      tenantId: string,
      householdId: string,
      input: MemberAdd,
    ): Promise<Membership> {
      const { row } = await load(tx, actor, tenantId, householdId, 'write', true);
      if (row.status === 'archived') throw stateConflict('household', row.status, 'add members to');
      const person = await findPerson(tx, tenantId, input.person_id);
      await readablePerson(tx, actor, tenantId, person, 'write').catch(() => {
        throw rule('person_id', 'no such person in this tenant');
      });
      if (person!.status === 'archived') throw rule('person_id', 'the person is archived');
      await vocabularies.assertCode(
        tx,
        tenantId,
        'membership-role',
        input.relationship_type,
        'relationship_type',
      );
      if (input.effective_until && input.effective_until < input.effective_from) {
        throw rule('effective_until', 'must not be before effective_from');
      }
      const m = await addMembershipIn(tx, actor, tenantId, householdId, input);
      await recordVersion(tx, actor, tenantId, {
        resourceType: 'membership',
        resourceId: m.id,
        versionId: 1,
        change: 'create',
        fields: Object.keys(input),
        newValues: { ...input },
      });
      await recordAudit(
        tx,
        actor,
        auditOf(
          actor,
          'membership.add',
          { type: 'membership', id: m.id },
          {
            details: { household_id: householdId, person_id: input.person_id },
          },
        ),
      );
      return membershipOut(m);
    },

    async endMember(
      actor: Actor,
      householdId: string,
      personId: string,
      input: MemberEnd,
    ): Promise<Membership> {
      const tenantId = requireTenant(actor);
      checkReason(input.reason_code, input.reason_text);
      return tenantTx(db, actor, async (tx) => {
        await load(tx, actor, tenantId, householdId, 'write', true);
        // A member the caller may not see (consent-bound, no consent) is as absent as a non-member.
        await readablePerson(tx, actor, tenantId, await findPerson(tx, tenantId, personId), 'write').catch(
          () => {
            throw notFound('open membership');
          },
        );
        const open = await hrepo.findOpenMembership(tx, tenantId, householdId, personId);
        if (!open) throw notFound('open membership');
        if (input.effective_until < open.effective_from) {
          throw rule('effective_until', `must not be before effective_from (${open.effective_from})`);
        }
        const ended = await hrepo.endMembership(
          tx,
          tenantId,
          open.id,
          input.effective_until,
          input.reason_code,
          input.reason_text ?? null,
        );
        // The person's primary household moves to another open membership, or is cleared.
        await tx.query(
          `UPDATE persons SET household_id = (SELECT household_id FROM household_members
                    WHERE tenant_id = $1 AND person_id = $2 AND ended_at IS NULL ORDER BY id LIMIT 1)
            WHERE tenant_id = $1 AND id = $2 AND household_id = $3`,
          [tenantId, personId, householdId],
        );
        await recordVersion(tx, actor, tenantId, {
          resourceType: 'membership',
          resourceId: open.id,
          versionId: ended.version_id,
          change: 'end',
          fields: ['effective_until'],
          oldValues: { effective_until: open.effective_until },
          newValues: { effective_until: input.effective_until },
          reasonCode: input.reason_code,
          reasonText: input.reason_text,
        });
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'membership.end',
            { type: 'membership', id: open.id },
            {
              details: { household_id: householdId, person_id: personId, reason_code: input.reason_code },
            },
          ),
        );
        await emitEvent(tx, tenantId, {
          type: 'membership.ended',
          resourceType: 'household',
          resourceId: householdId,
          personId,
          data: { household_id: householdId, person_id: personId, membership_id: open.id },
        });
        return membershipOut(ended);
      });
    },

    /** Memberships with each member as the caller may see them; hidden members are left out. */
    async members(actor: Actor, householdId: string, includeEnded: boolean) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        await load(tx, actor, tenantId, householdId, 'read');
        const memberships = await hrepo.listMemberships(tx, tenantId, { householdId, includeEnded });
        const ids = memberships.map((m) => m.person_id);
        const decisions = await decideMany(tx, actor, tenantId, ids, 'read');
        const persons = new Map((await findPersons(tx, tenantId, ids)).map((p) => [p.id, p]));
        const data: (Membership & { person: PersonView })[] = [];
        for (const m of memberships) {
          const d = decisions.get(m.person_id)!;
          if (!d.visible) continue;
          data.push({ ...membershipOut(m), person: personView(persons.get(m.person_id)!, d) });
        }
        return data;
      });
    },

    async versions(actor: Actor, id: string) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const { row, d } = await load(tx, actor, tenantId, id, 'read');
        const hidden = new Set(householdView(row, d).masked_fields);
        return (await listVersions(tx, tenantId, 'household', id)).map((v) => {
          const masked: string[] = [];
          const strip = (values: Record<string, unknown> | null) =>
            values &&
            Object.fromEntries(
              Object.entries(values).map(([k, val]) => {
                if (!hidden.has(k)) return [k, val];
                masked.push(k);
                return [k, null];
              }),
            );
          return {
            ...v,
            changed_at: v.changed_at.toISOString(),
            old_values: strip(v.old_values),
            new_values: strip(v.new_values),
            masked_fields: [...new Set(masked)],
          };
        });
      });
    },
  };
}

export type HouseholdService = ReturnType<typeof createHouseholdService>;
