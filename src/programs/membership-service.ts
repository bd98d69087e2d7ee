import { decideMany, readablePerson } from '../access/person-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, conflict, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { findHousehold } from '../registry/household-repo.js';
import { rule } from '../registry/person-input.js';
import { findPerson } from '../registry/person-repo.js';
import { recordVersion } from '../registry/versions.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import * as mrepo from './membership-repo.js';
import type { ProgramRow } from './program-repo.js';
import { type ProgramService, programScope } from './program-service.js';
import {
  MEMBERSHIP_TRANSITIONS,
  type MembershipChange,
  type MembershipCreate,
  type MembershipListQuery,
  type MembershipStatus,
  type MembershipView,
} from './schemas.js';

export interface MembershipServiceDeps {
  db: Database;
  programs: ProgramService;
}

const today = () => new Date().toISOString().slice(0, 10);

export function membershipView(m: mrepo.MembershipRow): MembershipView {
  return {
    membership_id: m.id,
    program_id: m.program_id,
    beneficiary: (m.person_id ?? m.household_id)!,
    beneficiary_type: m.person_id ? 'person' : 'household',
    status: m.status,
    enrollment_date: m.enrollment_date,
    exit_date: m.exit_date,
    exit_reason: m.exit_reason,
    status_reason_code: m.status_reason_code,
    version_id: m.version_id,
    created_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
  };
}

/** The consent pre-filter of membership lists: consent-bound callers only see consented beneficiaries. */
function consentFilter(actor: Actor): mrepo.ConsentFilter {
  const p = actor.principal;
  if (p.isRoot || !p.consentBound) return null;
  return { verticals: p.verticalIds.length > 0 ? [...p.verticalIds] : null };
}

/** The person a membership is about: the beneficiary, or the leader of the household. */
async function subjectOf(tx: Tx, tenantId: string, m: mrepo.MembershipRow): Promise<string | null> {
  if (m.person_id) return m.person_id;
  return (await findHousehold(tx, tenantId, m.household_id!))?.leader_id ?? null;
}

/**
 * Enrolment of persons and households in programmes, with the membership status machine
 * (draft → enrolled ⇄ paused → exited; draft → not_eligible; any live status → duplicated).
 */
export function createMembershipService(deps: MembershipServiceDeps) {
  const { db, programs } = deps;

  /** The beneficiary must be of the programme's target type, visible to the caller and not archived. */
  async function checkBeneficiary(tx: Tx, actor: Actor, tenantId: string, program: ProgramRow, id: string) {
    if (program.target_type === 'individual') {
      const person = await findPerson(tx, tenantId, id);
      const visible =
        person &&
        (await readablePerson(tx, actor, tenantId, person, 'write').then(
          () => true,
          () => false,
        ));
      if (!visible) {
        if (await findHousehold(tx, tenantId, id)) {
          throw rule('beneficiary', 'the programme enrols individuals and this is a household');
        }
        throw rule('beneficiary', 'no such person in this tenant');
      }
      if (person.status === 'archived') throw rule('beneficiary', 'the person is archived');
      return { personId: id, householdId: null, subject: id };
    }
    const household = await findHousehold(tx, tenantId, id);
    const d =
      household &&
      (await decideMany(tx, actor, tenantId, [household.leader_id], 'write')).get(household.leader_id);
    if (!household || !d?.visible) {
      if (await findPerson(tx, tenantId, id)) {
        throw rule('beneficiary', 'the programme enrols groups and this is a person');
      }
      throw rule('beneficiary', 'no such household in this tenant');
    }
    if (household.status === 'archived') throw rule('beneficiary', 'the household is archived');
    return { personId: null, householdId: id, subject: household.leader_id };
  }

  /** A membership of a programme the caller sees, whose beneficiary it may see; else 404. */
  async function load(tx: Tx, actor: Actor, programId: string, id: string, lock = false) {
    const tenantId = requireTenant(actor);
    const program = lock ? await programs.loadForWrite(tx, actor, programId) : null;
    if (!program) await programs.viewIn(tx, actor, programId);
    const m = await mrepo.findMembership(tx, tenantId, id, lock);
    if (!m || m.program_id !== programId) throw notFound('membership');
    const subject = await subjectOf(tx, tenantId, m);
    if (subject) {
      const d = (await decideMany(tx, actor, tenantId, [subject], lock ? 'write' : 'read')).get(subject)!;
      if (!d.visible) throw notFound('membership');
    }
    return { m, program };
  }

  async function enrolIn(
    tx: Tx,
    actor: Actor,
    programId: string,
    input: MembershipCreate,
  ): Promise<MembershipView> {
    const tenantId = requireTenant(actor);
    const program = await programs.loadForWrite(tx, actor, programId);
    if (program.status === 'ended') throw stateConflict('programme', 'ended', 'enrol in');
    const b = await checkBeneficiary(tx, actor, tenantId, program, input.beneficiary);
    const status: MembershipStatus = input.status ?? 'draft';
    if (input.enrollment_date !== undefined && status !== 'enrolled') {
      throw rule('enrollment_date', 'only applies when the status is enrolled');
    }
    const enrollmentDate = status === 'enrolled' ? (input.enrollment_date ?? today()) : null;
    if (enrollmentDate && enrollmentDate > today()) throw rule('enrollment_date', 'cannot be in the future');
    const id = uuidv7();
    try {
      await mrepo.insertMembership(tx, {
        tenantId,
        id,
        programId,
        personId: b.personId,
        householdId: b.householdId,
        status,
        enrollmentDate,
        createdBy: actor.principal.clientId,
        sourceSystem: actor.sourceSystem,
      });
    } catch (err) {
      if (isPgError(err) && err.code === PgCode.uniqueViolation) {
        throw conflict('the beneficiary already has a live membership in this programme', 'beneficiary');
      }
      throw err;
    }
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'program_membership',
      resourceId: id,
      versionId: 1,
      change: 'create',
      fields: ['status'],
      newValues: { status, enrollment_date: enrollmentDate },
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        'program_membership.create',
        { type: 'program_membership', id },
        {
          programId,
          verticalId: program.vertical_id,
          details: { status, beneficiary_type: b.personId ? 'person' : 'household' },
        },
      ),
    );
    await emitEvent(tx, tenantId, {
      type: 'program_membership.created',
      resourceType: 'program_membership',
      resourceId: id,
      personId: b.subject,
      verticalId: program.vertical_id,
      changedFields: ['status'],
      data: { program_id: programId, membership_id: id, status },
    });
    return membershipView((await mrepo.findMembership(tx, tenantId, id))!);
  }

  async function changeIn(
    tx: Tx,
    actor: Actor,
    programId: string,
    id: string,
    input: MembershipChange,
    ifMatch?: number,
  ): Promise<MembershipView> {
    const tenantId = requireTenant(actor);
    checkReason(input.reason_code, input.reason_text, undefined, 'reason_code', 'reason_text', false);
    const { m, program } = await load(tx, actor, programId, id, true);
    if (ifMatch !== undefined && ifMatch !== m.version_id) {
      throw new AppError('ERR_PRECONDITION_FAILED', `version_id is ${m.version_id}, not ${ifMatch}`, {
        extra: { current_version_id: m.version_id },
      });
    }
    const to = input.status;
    if (!MEMBERSHIP_TRANSITIONS[m.status].includes(to)) {
      throw stateConflict('membership', m.status, `move to ${to}`);
    }
    if (program!.status === 'ended' && (to === 'enrolled' || to === 'paused')) {
      throw stateConflict('programme', 'ended', `move a membership to ${to} in`);
    }
    let enrollmentDate = m.enrollment_date;
    if (input.enrollment_date !== undefined) {
      if (to !== 'enrolled' || m.enrollment_date !== null) {
        throw rule('enrollment_date', 'is set only when a draft membership is enrolled');
      }
    }
    if (to === 'enrolled' && enrollmentDate === null) enrollmentDate = input.enrollment_date ?? today();
    if (enrollmentDate && enrollmentDate > today()) throw rule('enrollment_date', 'cannot be in the future');
    let exitDate: string | null = null;
    let exitReason: string | null = null;
    if (to === 'exited') {
      if (!input.exit_reason) throw rule('exit_reason', 'is required to exit a membership');
      exitDate = input.exit_date ?? today();
      exitReason = input.exit_reason;
      if (enrollmentDate && exitDate < enrollmentDate)
        throw rule('exit_date', 'must not be before enrollment_date');
      if (exitDate > today()) throw rule('exit_date', 'cannot be in the future');
    } else if (input.exit_date !== undefined || input.exit_reason !== undefined) {
      throw rule(input.exit_date !== undefined ? 'exit_date' : 'exit_reason', 'only applies when exiting');
    }
    const updated = await mrepo.updateMembership(
      tx,
      tenantId,
      id,
      {
        status: to,
        enrollmentDate,
        exitDate,
        exitReason,
        reasonCode: input.reason_code ?? null,
        reasonText: input.reason_text ?? null,
      },
      { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem },
    );
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'program_membership',
      resourceId: id,
      versionId: updated.version_id,
      change: 'status_change',
      fields: ['status'],
      oldValues: { status: m.status },
      newValues: {
        status: to,
        enrollment_date: enrollmentDate,
        exit_date: exitDate,
        exit_reason: exitReason,
      },
      reasonCode: input.reason_code,
      reasonText: input.reason_text,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        'program_membership.status_change',
        { type: 'program_membership', id },
        {
          programId,
          verticalId: program!.vertical_id,
          details: { from: m.status, to, reason_code: input.reason_code ?? null },
        },
      ),
    );
    await emitEvent(tx, tenantId, {
      type: 'program_membership.status_changed',
      resourceType: 'program_membership',
      resourceId: id,
      personId: await subjectOf(tx, tenantId, m),
      verticalId: program!.vertical_id,
      changedFields: ['status'],
      data: { program_id: programId, membership_id: id, from: m.status, to },
    });
    return membershipView(updated);
  }

  return {
    enrolIn,
    changeIn,

    enrol: (actor: Actor, programId: string, input: MembershipCreate) =>
      tenantTx(db, actor, (tx) => enrolIn(tx, actor, programId, input)),

    change: (actor: Actor, programId: string, id: string, input: MembershipChange, ifMatch?: number) =>
      tenantTx(db, actor, (tx) => changeIn(tx, actor, programId, id, input, ifMatch)),

    async get(actor: Actor, programId: string, id: string): Promise<MembershipView> {
      return tenantTx(db, actor, async (tx) => membershipView((await load(tx, actor, programId, id)).m));
    },

    async list(actor: Actor, programId: string, query: MembershipListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const after = decodeIdCursor(query.cursor);
      return tenantTx(db, actor, async (tx) => {
        await programs.viewIn(tx, actor, programId);
        const rows = await mrepo.listMemberships(
          tx,
          tenantId,
          { programId, beneficiary: query.beneficiary, status: query.status },
          programScope(actor),
          consentFilter(actor),
          after,
          query.limit + 1,
        );
        const page = pageOf(rows, query.limit, (r) => [r.id]);
        return { data: page.data.map(membershipView), next_cursor: page.next_cursor };
      });
    },

    /**
     * Memberships across the programmes the caller sees, as an offset page with the exact total
     * (V2 face). Hidden beneficiaries are neither returned nor counted.
     */
    async page(actor: Actor, filter: mrepo.MembershipFilter, offset: number, count: number) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const r = await mrepo.pageMemberships(
          tx,
          tenantId,
          filter,
          programScope(actor),
          consentFilter(actor),
          offset,
          count,
        );
        return { data: r.rows.map(membershipView), total: r.total };
      });
    },
  };
}

export type MembershipService = ReturnType<typeof createMembershipService>;
