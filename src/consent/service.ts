import { maskValue } from '../access/classification.js';
import { type Purpose, readablePerson } from '../access/person-access.js';
import { assertStaffQueue } from '../access/queue-access.js';
import { readerOf } from '../access/reader.js';
import { assertSeparateDuties } from '../access/separation.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import type { EventType } from '../events/outbox.js';
import { AppError, forbidden, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
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
import { consentOut, DAY_MS, recordConsentChange, versionOut } from './changes.js';
import { createConsentExpiry } from './expiry.js';
import * as repo from './repo.js';
import type {
  Consent,
  ConsentCapture,
  ConsentExpire,
  ConsentQueueQuery,
  ConsentReject,
  ConsentRenew,
  ConsentVerify,
  ConsentWithdraw,
} from './schemas.js';

export { consentOut } from './changes.js';

export interface ConsentDeps {
  db: Database;
  settings: TenantSettingsCache;
  verticals: VerticalService;
}

type Status = repo.ConsentRow['status'];
type Evidence = { evidence_attachment_ids?: string[]; verification_document_attachment_id?: string };
type Window = { active_from: string; active_until?: string; capture_mode: 'online' | 'offline' };

/** Evidence plus an identity document make a consent active, unless it must be verified first. */
function statusFor(input: Evidence & Window, requireVerification: boolean): Status {
  const complete =
    (input.evidence_attachment_ids?.length ?? 0) > 0 && !!input.verification_document_attachment_id;
  // Offline captures are verified when they reach the server (docs/decisions/0010-consent-lifecycle.md).
  return complete && !requireVerification && input.capture_mode === 'online' ? 'active' : 'pending';
}

/** The window of a capture or renewal; it must end after it starts and after now. */
function windowOf(input: Window, graceDays: number, now: Date) {
  const from = new Date(input.active_from);
  const until = input.active_until ? new Date(input.active_until) : null;
  if (until && until <= from) throw rule('active_until', 'must be after active_from');
  if (until && until <= now) throw rule('active_until', 'must be in the future');
  return { from, until, grace: until ? new Date(until.getTime() + graceDays * DAY_MS) : null };
}

/** Consent lifecycle: capture → pending/active → verify, reject, withdraw, renew, expire. */
export function createConsentService(deps: ConsentDeps) {
  const { db, settings, verticals } = deps;
  const expiry = createConsentExpiry({ db, settings });

  /** The actor may only act on consents of its own verticals (when it is limited to some). */
  function inVerticals(actor: Actor, verticalId: string): boolean {
    const limited = actor.principal.verticalIds;
    return actor.principal.isRoot || limited.length === 0 || limited.includes(verticalId);
  }

  /**
   * A consent the actor may see: of its verticals, about a person the access decision lets it
   * see (a consent-bound caller gets the same 404 for a hidden person's consent as for none).
   */
  async function load(tx: Tx, actor: Actor, tenantId: string, id: string, purpose: Purpose) {
    const c = await repo.findConsent(tx, tenantId, id, purpose === 'write');
    if (!c || !inVerticals(actor, c.vertical_id)) throw notFound('consent');
    const person = await findPerson(tx, tenantId, c.person_id);
    await readablePerson(tx, actor, tenantId, person, purpose).catch(() => {
      throw notFound('consent');
    });
    return c;
  }

  async function assertEvidence(tx: Tx, tenantId: string, input: Evidence) {
    const ids = [...(input.evidence_attachment_ids ?? [])];
    if (input.verification_document_attachment_id) ids.push(input.verification_document_attachment_id);
    const found = await repo.existingAttachments(tx, tenantId, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0)
      throw rule('evidence_attachment_ids', `unknown attachment(s): ${missing.join(', ')}`);
  }

  /** A change of status: 409 naming the current status unless `allowedFrom` holds it. */
  async function transition(
    actor: Actor,
    id: string,
    action: string,
    allowedFrom: Status[],
    build: (c: repo.ConsentRow, tx: Tx, tenantId: string) => Promise<Partial<repo.ConsentRow>>,
    event: EventType | null,
  ): Promise<repo.ConsentRow> {
    const tenantId = requireTenant(actor);
    return tenantTx(db, actor, async (tx) => {
      const c = await load(tx, actor, tenantId, id, 'write');
      if (!allowedFrom.includes(c.status)) throw stateConflict('consent', c.status, action);
      const updated = await repo.updateConsent(tx, tenantId, id, await build(c, tx, tenantId));
      await recordConsentChange(tx, actor, updated, action, event, {
        from_status: c.status,
        reason_code: updated.reason_code,
      });
      return updated;
    });
  }

  return {
    /** The expiry sweep (src/consent/expiry.ts), run by the job runner. */
    expireDue: expiry.expireDue,

    async capture(actor: Actor, personId: string, input: ConsentCapture): Promise<Consent> {
      const tenantId = requireTenant(actor);
      if (!inVerticals(actor, input.vertical_id))
        throw forbidden('the consent’s vertical is outside your verticals');
      return tenantTx(db, actor, async (tx) => {
        const person = await findPerson(tx, tenantId, personId, true);
        await readablePerson(tx, actor, tenantId, person, 'write');
        if (person!.status === 'archived') throw stateConflict('person', 'archived', 'capture consent for');
        if (person!.verification_status !== 'verified') {
          throw new AppError(
            'ERR_VAL_RULE_VIOLATION',
            'consent cannot be captured for a provisional person; verify the person first',
            { errors: [{ field: 'person_id', message: 'the person is provisional' }] },
          );
        }
        await verticals.assertExist(tx, tenantId, [input.vertical_id], 'vertical_id');
        await assertEvidence(tx, tenantId, input);
        const s = await settings.get(tx, tenantId);
        const w = windowOf(input, s.consentGraceDays, new Date());
        const id = uuidv7();
        await repo.insertConsent(tx, {
          tenant_id: tenantId,
          id,
          person_id: personId,
          vertical_id: input.vertical_id,
          status: statusFor(input, s.consentRequiresVerification),
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
        await recordConsentChange(tx, actor, c, 'capture', 'consent.captured', {
          capture_mode: c.capture_mode,
        });
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

    /** The tenant's consents as a staff work queue (pending verification, expiring, in grace). */
    async queue(actor: Actor, query: ConsentQueueQuery) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        assertStaffQueue(await readerOf(tx, actor, tenantId), 'the consent list');
        const limit = query.limit ?? 50;
        const rows = await repo.listConsentQueue(tx, tenantId, {
          status: query.status ?? null,
          verticalId: query.vertical_id ?? null,
          expiringBefore: query.expiring_before ? new Date(query.expiring_before) : null,
          inGrace: query.in_grace ?? false,
          verticalIds:
            actor.principal.isRoot || actor.principal.verticalIds.length === 0
              ? null
              : actor.principal.verticalIds,
          afterId: decodeIdCursor(query.cursor),
          limit,
        });
        const page = pageOf(rows, limit, (r) => [r.id]);
        return { data: page.data.map(consentOut), next_cursor: page.next_cursor };
      });
    },

    async get(actor: Actor, id: string): Promise<Consent> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => consentOut(await load(tx, actor, tenantId, id, 'read')));
    },

    async verify(actor: Actor, id: string, input: ConsentVerify): Promise<Consent> {
      const verifiedAt = input.verified_at ? new Date(input.verified_at) : new Date();
      if (verifiedAt.getTime() > Date.now() + 60_000) throw rule('verified_at', 'cannot be in the future');
      const c = await transition(
        actor,
        id,
        'verify',
        ['pending'],
        async (current, tx, tenantId) => {
          // Separation of duties: the client that recorded the capture does not verify it.
          const capturedBy = await repo.capturedBy(tx, tenantId, current.id);
          assertSeparateDuties(await readerOf(tx, actor, tenantId), actor, 'consent', [capturedBy]);
          if (current.evidence_attachment_ids.length === 0 || !current.verification_document_attachment_id) {
            throw rule(
              'evidence_attachment_ids',
              'a consent needs evidence and a verification document before it can be verified',
            );
          }
          return {
            status: 'active',
            verified_by: input.verified_by ?? actor.principal.clientId,
            verified_at: verifiedAt,
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
          // A rejected consent grants nothing and never enters grace.
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
            { extra: { current_status: current.status } },
          );
        }
        if (!['active', 'expired', 'pending'].includes(current.status))
          throw stateConflict('consent', current.status, 'renew');
        await assertEvidence(tx, tenantId, input);
        const s = await settings.get(tx, tenantId);
        const w = windowOf(input, s.consentGraceDays, new Date());
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
        await recordConsentChange(tx, actor, updated, 'renew', 'consent.captured', {
          from_status: current.status,
        });
        return consentOut(updated);
      });
    },

    /** Expires an active consent now; read-only grace follows for the tenant's grace period. */
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

    /** Evidence ids, masked unless the caller holds sensitive:read; unmasked access is audited. */
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
              { verticalId: c.vertical_id, details: { person_id: c.person_id } },
            ),
          );
        }
        const show = (v: string) => (unmasked ? v : maskValue(v));
        const ids = c.evidence_attachment_ids.map(show);
        const doc = c.verification_document_attachment_id;
        const masked: string[] = [];
        if (!unmasked && ids.length > 0) masked.push('evidence_attachment_ids');
        if (!unmasked && doc) masked.push('verification_document_attachment_id');
        return {
          evidence_attachment_ids: ids,
          verification_document_attachment_id: doc ? show(doc) : null,
          masked: !unmasked,
          masked_fields: masked,
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
        const rows = await repo.listConsentVersions(tx, tenantId, id, versionId ?? null);
        if (versionId !== undefined && rows.length === 0) throw notFound('consent version');
        return rows.map((r) => versionOut(id, r));
      });
    },
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
