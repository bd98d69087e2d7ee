import { type Static, Type } from 'typebox';
import { decideMany, readablePerson } from '../access/person-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { notFound, stateConflict } from '../http/errors.js';
import { Body, DateOnly, DateTime, Nullable, ReasonFields, Uuid } from '../http/schemas.js';
import { uuidv7 } from '../lib/ids.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import { rule } from './person-input.js';
import { findPerson } from './person-repo.js';
import { recordVersion } from './versions.js';

/** Only base relationships are stored; derived ones (sibling, grandparent) are inferred, never kept. */
export const BASE_RELATIONSHIPS = ['parent', 'mother', 'father', 'spouse', 'guardian'] as const;
const VerificationStatus = Type.Union([Type.Literal('provisional'), Type.Literal('verified')]);

export const RelationshipCreate = Body({
  person_id: Uuid(),
  related_person_id: Uuid(),
  relationship_type: Type.String({
    minLength: 1,
    maxLength: 64,
    description: `base relationships only: ${BASE_RELATIONSHIPS.join(', ')} (person_id is the <type> of related_person_id)`,
    examples: ['mother'],
  }),
  effective_from: DateOnly(),
  effective_until: Type.Optional(DateOnly()),
  verification_status: Type.Optional(VerificationStatus),
});
export type RelationshipCreate = Static<typeof RelationshipCreate>;

export const RelationshipPatch = Body({
  effective_until: Type.Optional(Nullable(DateOnly())),
  verification_status: Type.Optional(VerificationStatus),
  reason_code: ReasonFields.reason_code,
  reason_text: ReasonFields.reason_text,
});
export type RelationshipPatch = Static<typeof RelationshipPatch>;

export const RelationshipEnd = Body({ effective_until: DateOnly(), ...ReasonFields });
export type RelationshipEnd = Static<typeof RelationshipEnd>;

export const Relationship = Type.Object({
  relationship_id: Uuid(),
  person_id: Uuid(),
  related_person_id: Uuid(),
  relationship_type: Type.String(),
  effective_from: Type.String(),
  effective_until: Nullable(Type.String()),
  verification_status: Type.String(),
  status: Type.String({ enum: ['active', 'ended'] }),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Relationship = Static<typeof Relationship>;

const COLUMNS = `id AS relationship_id, person_id, related_person_id, relationship_type, effective_from, effective_until,
  verification_status, status, version_id, created_at, updated_at`;

type Row = Omit<Relationship, 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date };
const out = (r: Row): Relationship => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export function createRelationshipService(db: Database) {
  /** Both persons must be readable (and, for consent-bound callers, consented). */
  async function assertPersons(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    ids: string[],
    purpose: 'read' | 'write',
  ) {
    for (const [i, id] of ids.entries()) {
      const p = await findPerson(tx, tenantId, id);
      await readablePerson(tx, actor, tenantId, p, purpose).catch(() => {
        throw i === 0 ? notFound('relationship') : notFound('relationship');
      });
    }
  }

  async function load(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    id: string,
    purpose: 'read' | 'write',
  ): Promise<Row> {
    const { rows } = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM relationships WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    if (rows.length === 0) throw notFound('relationship');
    await assertPersons(tx, actor, tenantId, [rows[0].person_id, rows[0].related_person_id], purpose);
    return rows[0];
  }

  async function update(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    current: Row,
    change: 'update' | 'end',
    columns: { effective_until?: string | null; verification_status?: string; status?: string },
    reason: { code: string; text?: string },
  ): Promise<Relationship> {
    const { rows } = await tx.query<Row>(
      `UPDATE relationships SET effective_until = CASE WHEN $3 THEN $4::date ELSE effective_until END,
              verification_status = COALESCE($5, verification_status), status = COALESCE($6, status),
              reason_code = $7, reason_text = $8, version_id = version_id + 1, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [
        tenantId,
        current.relationship_id,
        'effective_until' in columns,
        columns.effective_until ?? null,
        columns.verification_status ?? null,
        columns.status ?? null,
        reason.code,
        reason.text ?? null,
      ],
    );
    const fields = Object.keys(columns);
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'relationship',
      resourceId: current.relationship_id,
      versionId: rows[0].version_id,
      change,
      fields,
      oldValues: Object.fromEntries(fields.map((f) => [f, current[f as keyof Row] ?? null])),
      newValues: columns,
      reasonCode: reason.code,
      reasonText: reason.text,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(actor, `relationship.${change}`, { type: 'relationship', id: current.relationship_id }),
    );
    if (change === 'end') {
      await emitEvent(tx, tenantId, {
        type: 'relationship.ended',
        resourceType: 'relationship',
        resourceId: current.relationship_id,
        personId: current.person_id,
        data: { related_person_id: current.related_person_id },
      });
    }
    return out(rows[0]);
  }

  return {
    async create(actor: Actor, input: RelationshipCreate): Promise<Relationship> {
      const tenantId = requireTenant(actor);
      if (!(BASE_RELATIONSHIPS as readonly string[]).includes(input.relationship_type)) {
        throw rule(
          'relationship_type',
          `only base relationships are stored: ${BASE_RELATIONSHIPS.join(', ')}`,
        );
      }
      if (input.person_id === input.related_person_id)
        throw rule('related_person_id', 'must differ from person_id');
      if (input.effective_until && input.effective_until < input.effective_from) {
        throw rule('effective_until', 'must not be before effective_from');
      }
      return tenantTx(db, actor, async (tx) => {
        for (const field of ['person_id', 'related_person_id'] as const) {
          const p = await findPerson(tx, tenantId, input[field]);
          await readablePerson(tx, actor, tenantId, p, 'write').catch(() => {
            throw rule(field, 'no such person in this tenant');
          });
        }
        const id = uuidv7();
        const { rows } = await tx.query<Row>(
          `INSERT INTO relationships (tenant_id, id, person_id, related_person_id, relationship_type, effective_from,
             effective_until, verification_status, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
          [
            tenantId,
            id,
            input.person_id,
            input.related_person_id,
            input.relationship_type,
            input.effective_from,
            input.effective_until ?? null,
            input.verification_status ?? 'provisional',
            actor.principal.clientId,
          ],
        );
        await recordVersion(tx, actor, tenantId, {
          resourceType: 'relationship',
          resourceId: id,
          versionId: 1,
          change: 'create',
          fields: Object.keys(input),
          newValues: { ...input },
        });
        await recordAudit(tx, actor, auditOf(actor, 'relationship.create', { type: 'relationship', id }));
        await emitEvent(tx, tenantId, {
          type: 'relationship.created',
          resourceType: 'relationship',
          resourceId: id,
          personId: input.person_id,
          data: { related_person_id: input.related_person_id, relationship_type: input.relationship_type },
        });
        return out(rows[0]);
      });
    },

    async get(actor: Actor, id: string): Promise<Relationship> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => out(await load(tx, actor, tenantId, id, 'read')));
    },

    async patch(actor: Actor, id: string, input: RelationshipPatch): Promise<Relationship> {
      const tenantId = requireTenant(actor);
      checkReason(input.reason_code, input.reason_text);
      return tenantTx(db, actor, async (tx) => {
        const current = await load(tx, actor, tenantId, id, 'write');
        if (current.status === 'ended') throw stateConflict('relationship', current.status, 'update');
        if (input.effective_until && input.effective_until < current.effective_from) {
          throw rule('effective_until', 'must not be before effective_from');
        }
        const columns: { effective_until?: string | null; verification_status?: string } = {};
        if (input.effective_until !== undefined) columns.effective_until = input.effective_until;
        if (input.verification_status !== undefined) columns.verification_status = input.verification_status;
        return update(tx, actor, tenantId, current, 'update', columns, {
          code: input.reason_code,
          text: input.reason_text,
        });
      });
    },

    async end(actor: Actor, id: string, input: RelationshipEnd): Promise<Relationship> {
      const tenantId = requireTenant(actor);
      checkReason(input.reason_code, input.reason_text);
      return tenantTx(db, actor, async (tx) => {
        const current = await load(tx, actor, tenantId, id, 'write');
        if (current.status === 'ended') throw stateConflict('relationship', current.status, 'end');
        if (input.effective_until < current.effective_from)
          throw rule('effective_until', 'must not be before effective_from');
        return update(
          tx,
          actor,
          tenantId,
          current,
          'end',
          { effective_until: input.effective_until, status: 'ended' },
          { code: input.reason_code, text: input.reason_text },
        );
      });
    },

    /** Relationships of a person where the caller may see the other person too. */
    async ofPerson(actor: Actor, personId: string): Promise<Relationship[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        await readablePerson(tx, actor, tenantId, await findPerson(tx, tenantId, personId), 'read');
        const { rows } = await tx.query<Row>(
          `SELECT ${COLUMNS} FROM relationships WHERE tenant_id = $1 AND (person_id = $2 OR related_person_id = $2) ORDER BY id`,
          [tenantId, personId],
        );
        const others = rows.map((r) => (r.person_id === personId ? r.related_person_id : r.person_id));
        const decisions = await decideMany(tx, actor, tenantId, others, 'read');
        return rows.filter((_r, i) => decisions.get(others[i])?.visible).map(out);
      });
    },
  };
}

export type RelationshipService = ReturnType<typeof createRelationshipService>;
