import { maskValue } from '../access/classification.js';
import { readablePerson } from '../access/person-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { type EventType, emitEvent } from '../events/outbox.js';
import { AppError, forbidden, notFound, stateConflict } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import { rule } from '../registry/person-input.js';
import { findPerson } from '../registry/person-repo.js';
import type { VerticalService } from '../tenancy/service.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import {
  CONSENT_REJECTION_REASONS,
  CONSENT_WITHDRAWAL_REASONS,
  checkReason,
} from '../vocabulary/reason-codes.js';
import * as repo from './repo.js';
import type {
  Consent,
  ConsentCapture,
  ConsentExpire,
  ConsentReject,
  ConsentRenew,
  ConsentVerify,
  ConsentWithdraw,
} from './schemas.js';

const DAY_MS = 86_400_000;
const iso = (d: Date | null) => d?.toISOString() ?? null;

export function consentOut(c: repo.ConsentRow): Consent {
  return {
    consent_id: c.id,
    person_id: c.person_id,
    vertical_id: c.vertical_id,
    status: c.status,
    active_from: c.active_from.toISOString(),
    active_until: iso(c.active_until),
    grace_until: iso(c.grace_until),
    capture_mode: c.capture_mode,
    captured_by: c.captured_by,
    captured_at: c.captured_at.toISOString(),
    verified_by: c.verified_by,
    verified_at: iso(c.verified_at),
    rejected_by: c.rejected_by,
    rejected_at: iso(c.rejected_at),
    withdrawn_at: iso(c.withdrawn_at),
    expired_at: iso(c.expired_at),
    reason_code: c.reason_code,
    version_id: c.version_id,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

export interface ConsentDeps {
  db: Database;
  settings: TenantSettingsCache;
  verticals: VerticalService;
}

/** Consent lifecycle: capture → pending/active → verify, reject, withdraw, renew, expire. */
export function createConsentService(deps: ConsentDeps) {
  const { db, settings, verticals } = deps;

  /** The actor may only act on consents of its own verticals (when it is limited to some). */
  function inVerticals(actor: Actor, verticalId: string): boolean {
    const limited = actor.principal.verticalIds;
    return actor.principal.isRoot || limited.length === 0 || limited.includes(verticalId);
  }

  async function load(tx: Tx, actor: Actor, tenantId: string, id: string, purpose: 'read' | 'write') {
    const c = await repo.findConsent(tx, tenantId, id, purpose === 'write');
    if (!c || !inVerticals(actor, c.vertical_id)) throw notFound('consent');
    await readablePerson(
      tx,
      actor,
      tenantId,
      await findPerson(tx, tenantId, c.person_id),
      purpose === 'write' ? 'read' : 'read',
    ).catch(() => {
      throw notFound('consent');
    });
    return c;
  }

  async function assertEvidence(
    tx: Tx,
    tenantId: string,
    input: { evidence_attachment_ids?: string[]; verification_document_attachment_id?: string },
  ) {
    const ids = [...(input.evidence_attachment_ids ?? [])];
    if (input.verification_document_attachment_id) ids.push(input.verification_document_attachment_id);
    const found = await repo.existingAttachments(tx, tenantId, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0)
      throw rule('evidence_attachment_ids', `unknown attachment(s): ${missing.join(', ')}`);
  }

  function window(input: { active_from: string; active_until?: string }, graceDays: number) {
    const from = new Date(input.active_from);
    const until = input.active_until ? new Date(input.active_until) : null;
    if (until && until <= from) throw rule('active_until', 'must be after active_from');
    return { from, until, grace: until ? new Date(until.getTime() + graceDays * DAY_MS) : null };
  }

  /** Evidence plus an identity document make a consent active, unless the tenant wants it verified first. */
  function statusFor(
    input: { evidence_attachment_ids?: string[]; verification_document_attachment_id?: string },
    requireVerification: boolean,
  ) {
    const complete =
      (input.evidence_attachment_ids?.length ?? 0) > 0 && !!input.verification_document_attachment_id;
    return complete && !requireVerification ? 'active' : 'pending';
  }

  async function afterChange(
    tx: Tx,
    actor: Actor,
    c: repo.ConsentRow,
    change: string,
    event: EventType | null,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await repo.insertConsentVersion(tx, c, { change, changedBy: actor.principal.clientId });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        `consent.${change}`,
        { type: 'consent', id: c.id },
        {
          verticalId: c.vertical_id,
          details: { person_id: c.person_id, status: c.status, ...details },
        },
      ),
    );
    if (event) {
      await emitEvent(tx, c.tenant_id, {
        type: event,
        resourceType: 'consent',
        resourceId: c.id,
        personId: c.person_id,
        verticalId: c.vertical_id,
        changedFields: ['status'],
        data: { status: c.status },
      });
    }
  }

  async function transition(
    actor: Actor,
    id: string,
    action: string,
    allowedFrom: repo.ConsentRow['status'][],
    build: (c: repo.ConsentRow, tx: Tx, tenantId: string) => Promise<Partial<repo.ConsentRow>>,
    event: EventType | null,
  ): Promise<repo.ConsentRow> {
    const tenantId = requireTenant(actor);
    return tenantTx(db, actor, async (tx) => {
      const c = await load(tx, actor, tenantId, id, 'write');
      if (!allowedFrom.includes(c.status)) throw stateConflict('consent', c.status, action);
      const updated = await repo.updateConsent(tx, tenantId, id, await build(c, tx, tenantId));
      await afterChange(tx, actor, updated, action, event);
      return updated;
    });
  }

  return {
    async capture(actor: Actor, personId: string, input: ConsentCapture): Promise<Consent> {
      const tenantId = requireTenant(actor);
      if (!inVerticals(actor, input.vertical_id))
        throw forbidden('the consent’s vertical is outside your verticals');
      return tenantTx(db, actor, async (tx) => {
        const person = await findPerson(tx, tenantId, personId, true);
        await readablePerson(tx, actor, tenantId, person, 'read');
        if (person!.status === 'archived') throw stateConflict('person', 'archived', 'capture consent for');
        if (person!.verification_status !== 'verified') {
          throw new AppError(
            'ERR_VAL_RULE_VIOLATION',
            'consent cannot be captured for a provisional person; verify the person first',
            {
              errors: [{ field: 'person_id', message: 'the person is provisional' }],
            },
          );
        }
        await verticals.assertExist(tx, tenantId, [input.vertical_id], 'vertical_id');
        await assertEvidence(tx, tenantId, input);
        const s = await settings.get(tx, tenantId);
        const w = window(input, s.consentGraceDays);
        const status = statusFor(input, s.consentRequiresVerification);
        const id = uuidv7();
        await repo.insertConsent(tx, {
          tenant_id: tenantId,
          id,
          person_id: personId,
          vertical_id: input.vertical_id,
          status,
          active_from: w.from,
          active_until: w.until,
          grace_until: w.grace,
          capture_mode: input.capture_mode,
          captured_by: input.captured_by,
          evidence_attachment_ids: input.evidence_attachment_ids ?? [],
          verification_document_attachment_id: input.verification_document_attachment_id ?? null,
          verified_by: null,
          verified_at: null,
          rejected_by: null,
          rejected_at: null,
          withdrawn_at: null,
          expired_at: null,
          reason_code: null,
          reason_text: null,
          version_id: 1,
        });
        const c = (await repo.findConsent(tx, tenantId, id))!;
        await afterChange(tx, actor, c, 'capture', 'consent.captured');
        return consentOut(c);
      });
    },

    async listForPerson(actor: Actor, personId: string, filter: { vertical_id?: string; status?: string }) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        await readablePerson(tx, actor, tenantId, await findPerson(tx, tenantId, personId), 'read');
        const limited =
          actor.principal.isRoot || actor.principal.verticalIds.length === 0
            ? null
            : actor.principal.verticalIds;
        const rows = await repo.listConsents(tx, tenantId, personId, {
          verticalId: filter.vertical_id,
          status: filter.status,
          verticalIds: limited,
        });
        return rows.map(consentOut);
      });
    },

    async get(actor: Actor, id: string): Promise<Consent> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => consentOut(await load(tx, actor, tenantId, id, 'read')));
    },

    async verify(actor: Actor, id: string, input: ConsentVerify): Promise<Consent> {
      const c = await transition(
        actor,
        id,
        'verify',
        ['pending'],
        async (current) => {
          if (current.evidence_attachment_ids.length === 0 || !current.verification_document_attachment_id) {
            throw rule(
              'evidence_attachment_ids',
              'a consent needs evidence and a verification document before it can be verified',
            );
          }
          return {
            status: 'active',
            verified_by: input.verified_by ?? actor.principal.clientId,
            verified_at: input.verified_at ? new Date(input.verified_at) : new Date(),
          };
        },
        'consent.verified',
      );
      return consentOut(c);
    },

    async reject(actor: Actor, id: string, input: ConsentReject): Promise<Consent> {
      checkReason(input.reason_code, input.reason_text, CONSENT_REJECTION_REASONS);
      const c = await transition(
        actor,
        id,
        'reject',
        ['pending'],
        async () => ({
          status: 'rejected',
          rejected_by: input.rejected_by ?? actor.principal.clientId,
          rejected_at: input.rejected_at ? new Date(input.rejected_at) : new Date(),
          // A rejected consent never enters grace.
          grace_until: null,
          reason_code: input.reason_code,
          reason_text: input.reason_text ?? null,
        }),
        null,
      );
      return consentOut(c);
    },

    async withdraw(actor: Actor, id: string, input: ConsentWithdraw): Promise<Consent> {
      checkReason(input.reason_code, input.reason_text, CONSENT_WITHDRAWAL_REASONS);
      const now = new Date();
      const c = await transition(
        actor,
        id,
        'withdraw',
        ['pending', 'active', 'expired'],
        async () => ({
          status: 'withdrawn',
          withdrawn_at: now,
          grace_until: null,
          reason_code: input.reason_code,
          reason_text: input.reason_text ?? null,
        }),
        'consent.withdrawn',
      );
      return { ...consentOut(c), effective_at: now.toISOString() };
    },

    async renew(actor: Actor, id: string, input: ConsentRenew): Promise<Consent> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const current = await load(tx, actor, tenantId, id, 'write');
        if (current.status === 'rejected') {
          throw new AppError(
            'ERR_STATE_CONFLICT',
            'a rejected consent cannot be renewed: capture a new consent with POST /persons/{person_id}/consents',
            {
              extra: { current_status: current.status },
            },
          );
        }
        if (!['active', 'expired', 'pending'].includes(current.status))
          throw stateConflict('consent', current.status, 'renew');
        await assertEvidence(tx, tenantId, input);
        const s = await settings.get(tx, tenantId);
        const w = window(input, s.consentGraceDays);
        const updated = await repo.updateConsent(tx, tenantId, id, {
          status: statusFor(input, s.consentRequiresVerification),
          active_from: w.from,
          active_until: w.until,
          grace_until: w.grace,
          capture_mode: input.capture_mode,
          captured_by: input.captured_by,
          captured_at: new Date(),
          evidence_attachment_ids: input.evidence_attachment_ids ?? [],
          verification_document_attachment_id: input.verification_document_attachment_id ?? null,
          expired_at: null,
          verified_by: null,
          verified_at: null,
          reason_code: null,
          reason_text: null,
        });
        await afterChange(tx, actor, updated, 'renew', 'consent.captured');
        return consentOut(updated);
      });
    },

    async expire(actor: Actor, id: string, input: ConsentExpire): Promise<Consent> {
      const c = await transition(
        actor,
        id,
        'expire',
        ['active'],
        async (_current, tx, tenantId) => {
          const s = await settings.get(tx, tenantId);
          const now = new Date();
          return {
            status: 'expired',
            expired_at: now,
            grace_until: new Date(now.getTime() + s.consentGraceDays * DAY_MS),
            reason_text: input.system_reason ?? null,
          };
        },
        'consent.expired',
      );
      return consentOut(c);
    },

    /** Expires every active consent of a tenant whose window has passed (the background job). */
    async expireDue(actor: Actor): Promise<number> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          `SELECT id FROM consents WHERE tenant_id = $1 AND status = 'active' AND active_until IS NOT NULL AND active_until <= now()
            ORDER BY active_until LIMIT 500 FOR UPDATE SKIP LOCKED`,
          [tenantId],
        );
        const s = await settings.get(tx, tenantId);
        for (const { id } of rows) {
          const current = (await repo.findConsent(tx, tenantId, id))!;
          const expiredAt = current.active_until!;
          const updated = await repo.updateConsent(tx, tenantId, id, {
            status: 'expired',
            expired_at: expiredAt,
            grace_until: new Date(expiredAt.getTime() + s.consentGraceDays * DAY_MS),
            reason_text: 'active_until passed',
          });
          await afterChange(tx, actor, updated, 'expire', 'consent.expired');
        }
        return rows.length;
      });
    },

    async evidence(actor: Actor, id: string) {
      const tenantId = requireTenant(actor);
      const unmasked = actor.principal.isRoot || actor.principal.scopes.has('sensitive:read');
      return tenantTx(db, actor, async (tx) => {
        const c = await load(tx, actor, tenantId, id, 'read');
        if (unmasked) {
          await recordAudit(
            tx,
            actor,
            auditOf(
              actor,
              'consent.evidence_access',
              { type: 'consent', id },
              {
                verticalId: c.vertical_id,
                details: { person_id: c.person_id },
              },
            ),
          );
        }
        const show = (v: string) => (unmasked ? v : maskValue(v));
        return {
          evidence_attachment_ids: c.evidence_attachment_ids.map(show),
          verification_document_attachment_id: c.verification_document_attachment_id
            ? show(c.verification_document_attachment_id)
            : null,
          masked: !unmasked,
        };
      });
    },

    /** Version history: ROOT and tenant admins only, whatever the caller's scopes. */
    async versions(actor: Actor, id: string, versionId?: number) {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
        throw forbidden('consent version history is restricted to ROOT and tenant admins');
      }
      return tenantTx(db, actor, async (tx) => {
        await load(tx, actor, tenantId, id, 'read');
        const { rows } = await tx.query<{
          version_id: number;
          status: string;
          active_from: Date;
          active_until: Date | null;
          grace_until: Date | null;
          capture_mode: string;
          evidence_attachment_ids: string[];
          verification_document_attachment_id: string | null;
          captured_by: string;
          captured_at: Date;
          change: string;
          changed_at: Date;
          changed_by: string | null;
          reason_code: string | null;
          reason_text: string | null;
        }>(
          `SELECT version_id, status, active_from, active_until, grace_until, capture_mode, evidence_attachment_ids,
                  verification_document_attachment_id, captured_by, captured_at, change, changed_at, changed_by, reason_code,
                  reason_text
             FROM consent_versions WHERE tenant_id = $1 AND consent_id = $2 AND ($3::int IS NULL OR version_id = $3)
            ORDER BY version_id`,
          [tenantId, id, versionId ?? null],
        );
        if (versionId !== undefined && rows.length === 0) throw notFound('consent version');
        return rows.map((r) => ({
          consent_id: id,
          ...r,
          active_from: r.active_from.toISOString(),
          active_until: iso(r.active_until),
          grace_until: iso(r.grace_until),
          captured_at: r.captured_at.toISOString(),
          changed_at: r.changed_at.toISOString(),
        }));
      });
    },
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
