import { type Static, Type } from 'typebox';
import type { Actor } from '../../auth/principal.js';
import { AppError, conflict, notFound } from '../../http/errors.js';
import { isUuid } from '../../lib/ids.js';
import type { MembershipFilter } from '../../programs/membership-repo.js';
import type { MembershipChange, MembershipView, ProgramView } from '../../programs/schemas.js';
import { rule } from '../../registry/person-input.js';
import { resolveGroup } from './group-ops.js';
import {
  badRequest,
  groupReference,
  type Identifier,
  locationOf,
  MEMBERSHIP_ID_SYSTEM,
  PROGRAM_CODE_SYSTEM,
  PROGRAM_ID_SYSTEM,
  parseIdentifier,
  parseReference,
  personReference,
  programReference,
} from './identifiers.js';
import { resolvePerson } from './individual-ops.js';
import {
  PagingParams,
  type ProgramMembershipIn,
  type ProgramMembershipOut,
  type ProgramOut,
  type RefIn,
} from './schemas.js';
import { etag, ifMatchOf, type Outcome, searchResult, versionConflict } from './support.js';
import type { Domain } from './unit-of-work.js';

const refString = (r: RefIn) => (typeof r === 'string' ? r : r.reference);

export function toProgram(p: ProgramView): ProgramOut {
  const out: ProgramOut = {
    type: 'Program',
    identifier: [
      { system: PROGRAM_ID_SYSTEM, value: p.program_id },
      { system: PROGRAM_CODE_SYSTEM, value: p.code },
      ...p.identifiers,
    ],
    active: p.status === 'active' && !p.archived,
    name: p.name,
    programType: p.vertical_code,
    targetType: p.target_type as ProgramOut['targetType'],
    status: p.status as ProgramOut['status'],
    period: {
      ...(p.period.start ? { start: p.period.start } : {}),
      ...(p.period.end ? { end: p.period.end } : {}),
    },
    meta: { versionId: String(p.version_id), lastUpdated: p.updated_at, source: p.source_system },
  };
  if (p.description) out.description = p.description;
  if (p.eligibility_criteria) out.eligibilityCriteria = p.eligibility_criteria;
  return out;
}

export function toMembership(m: MembershipView): ProgramMembershipOut {
  const out: ProgramMembershipOut = {
    type: 'ProgramMembership',
    identifier: [{ system: MEMBERSHIP_ID_SYSTEM, value: m.membership_id }],
    program: { reference: programReference(m.program_id) },
    beneficiary: {
      reference:
        m.beneficiary_type === 'person' ? personReference(m.beneficiary) : groupReference(m.beneficiary),
    },
    status: m.status,
    meta: { versionId: String(m.version_id), lastUpdated: m.updated_at, source: null },
  };
  if (m.enrollment_date) out.enrollmentDate = m.enrollment_date;
  if (m.exit_date) out.exitDate = m.exit_date;
  if (m.exit_reason) out.exitReason = m.exit_reason;
  return out;
}

/** The programme an identifier names: its Hearth id, its code, or one of its identifiers. */
export async function resolveProgram(d: Domain, actor: Actor, id: Identifier): Promise<ProgramView> {
  if (id.system === PROGRAM_ID_SYSTEM) {
    if (!isUuid(id.value)) throw badRequest('identifier', `a ${PROGRAM_ID_SYSTEM} value is a UUID`);
    return d.programs.resolve(actor, { id: id.value.toLowerCase() });
  }
  if (id.system === PROGRAM_CODE_SYSTEM) return d.programs.resolve(actor, { code: id.value });
  return d.programs.resolve(actor, { system: id.system, value: id.value });
}

export async function readProgram(d: Domain, actor: Actor, raw: string): Promise<Outcome<ProgramOut>> {
  const p = await resolveProgram(d, actor, parseIdentifier(raw));
  return { status: 200, resource: toProgram(p), etag: etag(p.version_id) };
}

export const ProgramSearchQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'active or ended' })),
    targetType: Type.Optional(
      Type.String({ minLength: 1, maxLength: 20, description: 'individual or group' }),
    ),
    ...PagingParams,
  },
  { additionalProperties: false },
);
export type ProgramSearchQuery = Static<typeof ProgramSearchQuery>;

export async function searchPrograms(d: Domain, actor: Actor, q: ProgramSearchQuery) {
  const count = q._count ?? 20;
  const offset = q._offset ?? 0;
  const known = (v: string | undefined, values: string[]) => v === undefined || values.includes(v);
  if (!known(q.status, ['active', 'ended']) || !known(q.targetType, ['individual', 'group'])) {
    return searchResult('Program', q, [], 0, offset, count);
  }
  const found = await d.programs.page(
    actor,
    {
      name: q.name,
      status: q.status as 'active' | 'ended' | undefined,
      targetType: q.targetType as 'individual' | 'group' | undefined,
      includeArchived: false,
    },
    offset,
    count,
  );
  return searchResult('Program', q, found.data.map(toProgram), found.total, offset, count);
}

/** A beneficiary reference (Individual/… or Group/…) → the person or household id. */
async function beneficiaryOf(d: Domain, actor: Actor, ref: string, field: string, purpose: 'read' | 'write') {
  const { type, id } = parseReference(ref, ['Individual', 'Group'], field);
  return type === 'Individual'
    ? resolvePerson(d, actor, id, purpose, field)
    : resolveGroup(d, actor, id, purpose, field);
}

async function programOfRef(d: Domain, actor: Actor, ref: string, field: string) {
  return resolveProgram(d, actor, parseReference(ref, ['Program'], field).id);
}

export const MembershipSearchQuery = Type.Object(
  {
    program: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, description: 'Program/{system}|{value}' }),
    ),
    beneficiary: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, description: 'Individual/{system}|{value} or Group/…' }),
    ),
    status: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
    ...PagingParams,
  },
  { additionalProperties: false },
);
export type MembershipSearchQuery = Static<typeof MembershipSearchQuery>;

const STATUSES = ['draft', 'enrolled', 'paused', 'exited', 'not_eligible', 'duplicated'];

export async function searchMemberships(d: Domain, actor: Actor, q: MembershipSearchQuery) {
  const count = q._count ?? 20;
  const offset = q._offset ?? 0;
  const empty = () => searchResult('ProgramMembership', q, [], 0, offset, count);
  const filter: MembershipFilter = {};
  if (q.status !== undefined) {
    if (!STATUSES.includes(q.status)) return empty();
    filter.status = q.status as MembershipFilter['status'];
  }
  try {
    if (q.program) filter.programId = (await programOfRef(d, actor, q.program, 'program')).program_id;
    if (q.beneficiary)
      filter.beneficiary = await beneficiaryOf(d, actor, q.beneficiary, 'beneficiary', 'read');
  } catch (err) {
    if (err instanceof AppError && err.status === 404) return empty();
    throw err;
  }
  const found = await d.memberships.page(actor, filter, offset, count);
  return searchResult('ProgramMembership', q, found.data.map(toMembership), found.total, offset, count);
}

/**
 * One membership, named by its own id or by its beneficiary's identifier; a beneficiary with
 * live memberships in several programmes needs `?program=` (409 without it).
 */
async function membershipOf(
  d: Domain,
  actor: Actor,
  raw: string,
  program: string | undefined,
  purpose: 'read' | 'write',
) {
  const id = parseIdentifier(raw);
  const filter: MembershipFilter = {};
  if (id.system === MEMBERSHIP_ID_SYSTEM) {
    if (!isUuid(id.value)) throw badRequest('identifier', `a ${MEMBERSHIP_ID_SYSTEM} value is a UUID`);
    filter.membershipId = id.value.toLowerCase();
  } else {
    const resolved: string[] = [];
    for (const kind of ['Individual', 'Group'] as const) {
      try {
        resolved.push(await beneficiaryOf(d, actor, `${kind}/${raw}`, 'identifier', purpose));
      } catch (err) {
        if (!(err instanceof AppError && err.status === 404)) throw err;
      }
    }
    if (resolved.length === 0) throw notFound('membership');
    if (resolved.length > 1) throw conflict('the identifier names both an Individual and a Group');
    filter.beneficiary = resolved[0];
    filter.liveOnly = true;
  }
  if (program) filter.programId = (await programOfRef(d, actor, program, 'program')).program_id;
  const found = await d.memberships.page(actor, filter, 0, 2);
  if (found.total === 0) throw notFound('membership');
  if (found.total > 1) {
    throw conflict(
      'the beneficiary has memberships in several programmes: name one with ?program=Program/{system}|{value}',
    );
  }
  return found.data[0];
}

export async function readMembership(d: Domain, actor: Actor, raw: string, program: string | undefined) {
  const m = await membershipOf(d, actor, raw, program, 'read');
  return { status: 200, resource: toMembership(m), etag: etag(m.version_id) };
}

export async function createMembership(
  d: Domain,
  actor: Actor,
  body: ProgramMembershipIn,
): Promise<Outcome<ProgramMembershipOut>> {
  if (body.exitDate || body.exitReason) throw rule('exitDate', 'a new membership has not exited');
  if (body.status !== undefined && body.status !== 'draft' && body.status !== 'enrolled') {
    throw rule('status', 'a new membership is draft or enrolled');
  }
  const program = await programOfRef(d, actor, refString(body.program), 'program');
  let beneficiary: string;
  try {
    beneficiary = await beneficiaryOf(d, actor, refString(body.beneficiary), 'beneficiary', 'write');
  } catch (err) {
    if (err instanceof AppError && err.status === 404)
      throw rule('beneficiary', 'no such Individual or Group');
    throw err;
  }
  const m = await d.memberships.enrol(actor, program.program_id, {
    beneficiary,
    ...(body.status ? { status: body.status } : {}),
    ...(body.enrollmentDate ? { enrollment_date: body.enrollmentDate } : {}),
  });
  return {
    status: 201,
    resource: toMembership(m),
    etag: etag(m.version_id),
    location: locationOf('ProgramMembership', { system: MEMBERSHIP_ID_SYSTEM, value: m.membership_id }),
  };
}

/** PUT: the status machine of the native API (status, dates and exit reason may change). */
export async function updateMembership(
  d: Domain,
  actor: Actor,
  raw: string,
  program: string | undefined,
  body: ProgramMembershipIn,
  ifMatch: string | undefined,
): Promise<Outcome<ProgramMembershipOut>> {
  const expected = ifMatchOf(ifMatch);
  const m = await membershipOf(d, actor, raw, program, 'write');
  if (expected !== undefined && expected !== m.version_id) throw versionConflict(m.version_id, expected);
  const current = toMembership(m);
  if (refString(body.program) !== current.program.reference) {
    const p = await programOfRef(d, actor, refString(body.program), 'program');
    if (p.program_id !== m.program_id) throw rule('program', 'a membership cannot move to another programme');
  }
  // The beneficiary is what the membership is about: a body naming someone else is refused, never
  // applied to the addressed membership with the other name dropped. Another identifier of the
  // same registrant is the same beneficiary.
  if (refString(body.beneficiary) !== current.beneficiary.reference) {
    let named: string | null = null;
    try {
      named = await beneficiaryOf(d, actor, refString(body.beneficiary), 'beneficiary', 'read');
    } catch (err) {
      if (!(err instanceof AppError && err.status === 404)) throw err;
    }
    if (named !== m.beneficiary) {
      throw rule('beneficiary', 'a membership cannot move to another beneficiary; enrol that one instead');
    }
  }
  const status = body.status ?? m.status;
  if (status === m.status) {
    if ((body.exitReason ?? null) !== m.exit_reason || (body.exitDate ?? null) !== m.exit_date) {
      throw rule('status', 'dates and exit reason change with a status change');
    }
    return { status: 200, resource: current, etag: etag(m.version_id) };
  }
  const changed = await d.memberships.change(
    actor,
    m.program_id,
    m.membership_id,
    {
      status: status as MembershipChange['status'],
      ...(status === 'enrolled' && body.enrollmentDate && !m.enrollment_date
        ? { enrollment_date: body.enrollmentDate }
        : {}),
      ...(status === 'exited' && body.exitDate ? { exit_date: body.exitDate } : {}),
      ...(status === 'exited' && body.exitReason ? { exit_reason: body.exitReason } : {}),
    },
    m.version_id,
  );
  return { status: 200, resource: toMembership(changed), etag: etag(changed.version_id) };
}
