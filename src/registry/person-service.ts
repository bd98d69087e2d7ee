import { decideMany, type Purpose, readablePerson } from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import { assertSeparateDuties } from '../access/separation.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, conflict, stateConflict } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import { type DuplicateCandidate, findDuplicates } from './duplicates.js';
import { findHousehold, insertMembership } from './household-repo.js';
import { phoneKey } from './normalize.js';
import {
  birthOf,
  checkReferences,
  type InputDeps,
  normalizeContacts,
  normalizeIdentities,
  rule,
} from './person-input.js';
import { errorUnder, mergedPatch, type PersonMerge } from './person-merge.js';
import * as repo from './person-repo.js';
import {
  type ArchiveBody,
  NOT_UPDATABLE,
  type PersonCreate,
  type PersonPatch,
  type PersonView,
  type RestoreBody,
  type VerifyBody,
} from './person-schemas.js';
import { personView } from './person-view.js';
import { listVersions, recordVersion } from './versions.js';

export interface PersonServiceDeps extends InputDeps {
  db: Database;
  settings: TenantSettingsCache;
}

export type PersonWithDuplicates = PersonView & { possible_duplicates: DuplicateCandidate[] };

/** A unique-index clash on an identity: 409 naming the field, nothing written. */
export function identityConflict(err: unknown): never {
  if (
    isPgError(err) &&
    err.code === PgCode.uniqueViolation &&
    err.constraint === 'person_identities_unique'
  ) {
    throw conflict(
      'an identity of this person is already registered to another person in this tenant',
      'identities',
    );
  }
  throw err;
}

const today = () => new Date().toISOString().slice(0, 10);
const phoneKeys = (contacts: { type: string; key: string }[]) =>
  contacts.filter((c) => c.type === 'phone' || c.type === 'whatsapp').map((c) => c.key);

export function createPersonService(deps: PersonServiceDeps) {
  const { db, settings, vocabularies } = deps;

  async function viewOf(tx: Tx, actor: Actor, tenantId: string, id: string, purpose: Purpose = 'read') {
    const row = await repo.findPerson(tx, tenantId, id);
    const d = await readablePerson(tx, actor, tenantId, row, purpose);
    return personView(row!, d);
  }

  /** Candidates the caller may see at all (consent-bound callers never learn of hidden persons). */
  async function visibleDuplicates(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    probe: Parameters<typeof findDuplicates>[2],
  ) {
    const found = await findDuplicates(tx, tenantId, probe);
    const decisions = await decideMany(
      tx,
      actor,
      tenantId,
      found.map((c) => c.person_id),
      'read',
    );
    return found.filter((c) => decisions.get(c.person_id)?.visible);
  }

  /** Loads a person for a write: missing, hidden from a consent-bound caller, or archived are refused. */
  async function lockForWrite(tx: Tx, actor: Actor, tenantId: string, id: string): Promise<repo.PersonRow> {
    const row = await repo.findPerson(tx, tenantId, id, true);
    await readablePerson(tx, actor, tenantId, row, 'write');
    return row!;
  }

  async function createIn(
    tx: Tx,
    actor: Actor,
    input: PersonCreate,
    collectionMethod = 'api',
  ): Promise<PersonWithDuplicates> {
    const tenantId = requireTenant(actor);
    if (input.full_name.trim() === '') throw rule('full_name', 'must not be blank');
    const s = await settings.get(tx, tenantId);
    const birth = birthOf(input);
    await checkReferences(tx, deps, tenantId, input);
    const identities = await normalizeIdentities(tx, deps, tenantId, input);
    const contacts = await normalizeContacts(tx, deps, tenantId, input.contacts, s.defaultPhoneCountry);
    if (input.household_id) {
      const hh = await findHousehold(tx, tenantId, input.household_id);
      if (!hh) throw rule('household_id', 'no such household in this tenant');
      if (hh.status === 'archived') throw rule('household_id', 'the household is archived');
      await vocabularies.assertCode(
        tx,
        tenantId,
        'membership-role',
        input.relationship_type ?? 'member',
        'relationship_type',
      );
    } else if (input.relationship_type !== undefined) {
      throw rule('relationship_type', 'only applies with household_id');
    }
    const id = uuidv7();
    await repo.insertPerson(tx, {
      tenantId,
      id,
      fullName: input.full_name.trim(),
      givenName: input.given_name ?? null,
      familyName: input.family_name ?? null,
      additionalName: input.additional_name ?? null,
      dateOfBirth: birth.date,
      birthDateEstimated: birth.estimated,
      gender: input.gender,
      birthPlace: input.birth_place ?? null,
      address: input.address ?? null,
      geoId: input.geo_id ?? null,
      householdId: input.household_id ?? null,
      extensions: input.extensions ?? {},
      createdBy: actor.principal.clientId,
      sourceSystem: actor.sourceSystem,
      collectionMethod,
    });
    await repo.insertIdentities(tx, tenantId, id, identities).catch(identityConflict);
    await repo.insertContacts(tx, tenantId, id, contacts);
    if (input.household_id) {
      await insertMembership(tx, {
        tenantId,
        id: uuidv7(),
        householdId: input.household_id,
        personId: id,
        relationshipType: input.relationship_type ?? 'member',
        effectiveFrom: today(),
        effectiveUntil: null,
        verificationStatus: 'provisional',
        createdBy: actor.principal.clientId,
      });
      await emitEvent(tx, tenantId, {
        type: 'membership.added',
        resourceType: 'household',
        resourceId: input.household_id,
        personId: id,
        data: { household_id: input.household_id, person_id: id },
      });
    }
    const fields = Object.keys(input).filter((k) => !['identity_type', 'identity_number'].includes(k));
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'person',
      resourceId: id,
      versionId: 1,
      change: 'create',
      fields,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        'person.create',
        { type: 'person', id },
        {
          details: { collection_method: collectionMethod, identities: identities.length },
        },
      ),
    );
    await emitEvent(tx, tenantId, {
      type: 'person.created',
      resourceType: 'person',
      resourceId: id,
      personId: id,
      changedFields: fields,
    });
    const possible = await visibleDuplicates(tx, actor, tenantId, {
      id,
      fullName: input.full_name,
      dateOfBirth: birth.date,
      phoneKeys: phoneKeys(contacts),
    });
    return { ...(await viewOf(tx, actor, tenantId, id, 'create')), possible_duplicates: possible };
  }

  async function changeStatus(
    actor: Actor,
    id: string,
    change: 'archive' | 'restore',
    body: ArchiveBody | RestoreBody,
  ): Promise<PersonView> {
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
      const row = await lockForWrite(tx, actor, tenantId, id);
      const from = change === 'archive' ? 'active' : 'archived';
      const to = change === 'archive' ? 'archived' : 'active';
      if (row.status !== from) throw stateConflict('person', row.status, change);
      try {
        await repo.setPersonArchived(tx, tenantId, id, to === 'archived');
      } catch (err) {
        if (isPgError(err) && err.constraint === 'person_identities_unique') {
          throw conflict('an identity of this person now belongs to another active person', 'identities');
        }
        throw err;
      }
      const { version_id } = await repo.updatePersonColumns(
        tx,
        tenantId,
        id,
        {
          status: to,
          archived_at: to === 'archived' ? new Date().toISOString() : null,
          status_reason_code: body.reason_code ?? null,
          status_reason_text: body.reason_text ?? null,
        },
        { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem },
      );
      await recordVersion(tx, actor, tenantId, {
        resourceType: 'person',
        resourceId: id,
        versionId: version_id,
        change,
        fields: ['status'],
        oldValues: { status: from },
        newValues: { status: to },
        reasonCode: body.reason_code,
        reasonText: body.reason_text,
      });
      await recordAudit(
        tx,
        actor,
        auditOf(
          actor,
          `person.${change}`,
          { type: 'person', id },
          {
            details: { reason_code: body.reason_code ?? null },
          },
        ),
      );
      await emitEvent(tx, tenantId, {
        type: change === 'archive' ? 'person.archived' : 'person.restored',
        resourceType: 'person',
        resourceId: id,
        personId: id,
        changedFields: ['status'],
      });
      return viewOf(tx, actor, tenantId, id);
    });
  }

  return {
    createIn,

    async create(actor: Actor, input: PersonCreate): Promise<PersonWithDuplicates> {
      return tenantTx(db, actor, (tx) => createIn(tx, actor, input));
    },

    async get(actor: Actor, id: string): Promise<PersonView> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, (tx) => viewOf(tx, actor, tenantId, id));
    },

    viewOf,

    async patch(
      actor: Actor,
      id: string,
      input: PersonPatch,
      ifMatch?: number,
    ): Promise<PersonWithDuplicates> {
      const tenantId = requireTenant(actor);
      for (const field of NOT_UPDATABLE) {
        if (field in input) throw rule(field, 'is not updatable');
      }
      return tenantTx(db, actor, (tx) => patchIn(tx, actor, tenantId, id, input, ifMatch));
    },

    /**
     * Partial updates merged into the stored records (see PersonMerge), same rules as patch, all in
     * one transaction: every person is updated or none is. An error names its item (`[i].field`).
     */
    async mergeMany(
      actor: Actor,
      items: readonly { id: string; input: PersonMerge }[],
    ): Promise<PersonWithDuplicates[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const out: PersonWithDuplicates[] = [];
        for (const [i, { id, input }] of items.entries()) {
          try {
            const row = await lockForWrite(tx, actor, tenantId, id);
            out.push(await patchIn(tx, actor, tenantId, id, mergedPatch(row, input)));
          } catch (err) {
            throw errorUnder(err, `[${i}]`);
          }
        }
        return out;
      });
    },

    async verify(actor: Actor, id: string, body: VerifyBody): Promise<PersonView> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const row = await lockForWrite(tx, actor, tenantId, id);
        if (row.status === 'archived') throw stateConflict('person', row.status, 'verify');
        const status = body.verification_status ?? 'verified';
        if (status === 'verified')
          assertSeparateDuties(await readerOf(tx, actor, tenantId), actor, 'person', [row.created_by]);
        const verifiedAt = body.verified_at ?? new Date().toISOString();
        if (verifiedAt > new Date(Date.now() + 60_000).toISOString())
          throw rule('verified_at', 'cannot be in the future');
        const verifiedBy = body.verified_by ?? actor.principal.clientId;
        const { version_id } = await repo.updatePersonColumns(
          tx,
          tenantId,
          id,
          {
            verification_status: status,
            verified_by: status === 'verified' ? verifiedBy : null,
            verified_at: status === 'verified' ? verifiedAt : null,
          },
          { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem },
        );
        await recordVersion(tx, actor, tenantId, {
          resourceType: 'person',
          resourceId: id,
          versionId: version_id,
          change: 'verify',
          fields: ['verification_status'],
          oldValues: { verification_status: row.verification_status },
          newValues: { verification_status: status },
        });
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'person.verify',
            { type: 'person', id },
            {
              details: { verification_status: status },
            },
          ),
        );
        await emitEvent(tx, tenantId, {
          type: 'person.verified',
          resourceType: 'person',
          resourceId: id,
          personId: id,
          changedFields: ['verification_status'],
        });
        return viewOf(tx, actor, tenantId, id);
      });
    },

    archive: (actor: Actor, id: string, body: ArchiveBody) => changeStatus(actor, id, 'archive', body),
    restore: (actor: Actor, id: string, body: RestoreBody) => changeStatus(actor, id, 'restore', body),

    async versions(actor: Actor, id: string) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const row = await repo.findPerson(tx, tenantId, id);
        const d = await readablePerson(tx, actor, tenantId, row, 'read');
        const shown = personView(row!, d);
        const hidden = new Set(shown.masked_fields.map((f) => f.split('.')[0]));
        const versions = await listVersions(tx, tenantId, 'person', id);
        return versions.map((v) => {
          const masked: string[] = [];
          const strip = (values: Record<string, unknown> | null) => {
            if (!values) return null;
            const out: Record<string, unknown> = {};
            for (const [k, val] of Object.entries(values)) {
              if (hidden.has(k)) {
                out[k] = null;
                masked.push(k);
              } else out[k] = val;
            }
            return out;
          };
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

    async duplicates(actor: Actor, id: string): Promise<DuplicateCandidate[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const row = await repo.findPerson(tx, tenantId, id);
        await readablePerson(tx, actor, tenantId, row, 'read');
        const s = await settings.get(tx, tenantId);
        const keys = row!.contacts
          .filter((c) => c.type === 'phone' || c.type === 'whatsapp')
          .map((c) => phoneKey(c.value, s.defaultPhoneCountry));
        return visibleDuplicates(tx, actor, tenantId, {
          id,
          fullName: row!.full_name,
          dateOfBirth: row!.date_of_birth,
          phoneKeys: keys,
        });
      });
    },
  };

  async function patchIn(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    id: string,
    input: PersonPatch,
    ifMatch?: number,
  ): Promise<PersonWithDuplicates> {
    const row = await lockForWrite(tx, actor, tenantId, id);
    if (row.status === 'archived') throw stateConflict('person', row.status, 'update');
    if (ifMatch !== undefined && ifMatch !== row.version_id) {
      throw new AppError('ERR_PRECONDITION_FAILED', `version_id is ${row.version_id}, not ${ifMatch}`, {
        extra: { current_version_id: row.version_id },
      });
    }
    const s = await settings.get(tx, tenantId);
    await checkReferences(tx, deps, tenantId, {
      gender: input.gender,
      geo_id: input.geo_id ?? undefined,
      extensions: input.extensions,
    });
    const columns: Record<string, unknown> = {};
    const oldValues: Record<string, unknown> = {};
    const newValues: Record<string, unknown> = {};
    const set = (field: string, column: string, value: unknown, old: unknown) => {
      if (JSON.stringify(value ?? null) === JSON.stringify(old ?? null)) return;
      columns[column] = value;
      oldValues[field] = old ?? null;
      newValues[field] = value ?? null;
    };
    if (input.full_name !== undefined) {
      if (input.full_name.trim() === '') throw rule('full_name', 'must not be blank');
      set('full_name', 'full_name', input.full_name.trim(), row.full_name);
    }
    for (const f of ['given_name', 'family_name', 'additional_name', 'birth_place'] as const) {
      if (input[f] !== undefined) set(f, f, input[f], row[f]);
    }
    if (
      input.date_of_birth !== undefined ||
      input.age_estimate !== undefined ||
      input.birth_date_estimated !== undefined
    ) {
      const birth = birthOf(input);
      set('date_of_birth', 'date_of_birth', birth.date, row.date_of_birth);
      set('birth_date_estimated', 'birth_date_estimated', birth.estimated, row.birth_date_estimated);
    }
    if (input.gender !== undefined) set('gender', 'gender', input.gender, row.gender);
    if (input.address !== undefined) set('address', 'address', input.address, row.address);
    if (input.geo_id !== undefined) set('geo_id', 'geo_id', input.geo_id, row.geo_id);
    if (input.extensions !== undefined) set('extensions', 'extensions', input.extensions, row.extensions);

    let identitiesChanged = false;
    if (input.identities !== undefined) {
      const next = await normalizeIdentities(tx, deps, tenantId, { identities: input.identities });
      const before = row.identities.map(
        (i) => `${i.identity_type}|${i.identity_number}|${i.status}|${i.expiry_date}`,
      );
      const after = next.map((i) => `${i.identity_type}|${i.identity_number}|${i.status}|${i.expiry_date}`);
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        identitiesChanged = true;
        await repo.retireIdentities(tx, tenantId, id);
        await repo.insertIdentities(tx, tenantId, id, next).catch(identityConflict);
        oldValues.identities = row.identities;
        newValues.identities = next.map(({ key: _k, ...i }) => i);
      }
    }
    let contactsChanged = false;
    let newPhoneKeys: string[] = [];
    if (input.contacts !== undefined) {
      const next = await normalizeContacts(tx, deps, tenantId, input.contacts, s.defaultPhoneCountry);
      newPhoneKeys = phoneKeys(next);
      const after = next.map(({ key: _k, ...c }) => c);
      if (JSON.stringify(after) !== JSON.stringify(row.contacts)) {
        contactsChanged = true;
        await repo.retireContacts(tx, tenantId, id);
        await repo.insertContacts(tx, tenantId, id, next);
        oldValues.contacts = row.contacts;
        newValues.contacts = after;
      }
    }
    const fields = Object.keys(newValues);
    let versionId = row.version_id;
    if (fields.length > 0) {
      const meta = { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem };
      ({ version_id: versionId } = await repo.updatePersonColumns(tx, tenantId, id, columns, meta));
      await recordVersion(tx, actor, tenantId, {
        resourceType: 'person',
        resourceId: id,
        versionId,
        change: 'update',
        fields,
        oldValues,
        newValues,
      });
      await recordAudit(
        tx,
        actor,
        auditOf(actor, 'person.update', { type: 'person', id }, { details: { fields } }),
      );
      if (identitiesChanged) {
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'person.identity_change',
            { type: 'person', id },
            {
              details: { before: row.identities.length, after: (newValues.identities as unknown[]).length },
            },
          ),
        );
      }
      await emitEvent(tx, tenantId, {
        type: 'person.updated',
        resourceType: 'person',
        resourceId: id,
        personId: id,
        changedFields: fields,
      });
    }
    const nameOrBirthChanged = 'full_name' in newValues || 'date_of_birth' in newValues;
    const possible =
      nameOrBirthChanged || contactsChanged
        ? await visibleDuplicates(tx, actor, tenantId, {
            id,
            fullName: (columns.full_name as string) ?? row.full_name,
            dateOfBirth: (columns.date_of_birth as string) ?? row.date_of_birth,
            phoneKeys: newPhoneKeys,
          })
        : [];
    return { ...(await viewOf(tx, actor, tenantId, id)), possible_duplicates: possible };
  }
}

export type PersonService = ReturnType<typeof createPersonService>;
