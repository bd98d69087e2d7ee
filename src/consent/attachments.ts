import { createHash } from 'node:crypto';
import { readablePerson } from '../access/person-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, forbidden, notFound } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
import { findPerson } from '../registry/person-repo.js';
import * as repo from './repo.js';
import type { Attachment } from './schemas.js';

/** Evidence files: signatures, photos, recordings and identity-document scans. */
export const ATTACHMENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/pdf',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/webm',
  'video/mp4',
] as const;

const out = (r: repo.AttachmentRow): Attachment => ({
  attachment_id: r.id,
  sha256: r.sha256,
  size: r.size,
  content_type: r.content_type,
  filename: r.filename,
  created_at: r.created_at.toISOString(),
});

export function createAttachmentService(db: Database) {
  return {
    async store(
      actor: Actor,
      content: Buffer,
      contentType: string,
      filename: string | undefined,
    ): Promise<Attachment> {
      const tenantId = requireTenant(actor);
      if (!(ATTACHMENT_TYPES as readonly string[]).includes(contentType)) {
        throw new AppError('ERR_UNSUPPORTED_MEDIA_TYPE', `attachments may be ${ATTACHMENT_TYPES.join(', ')}`);
      }
      if (!Buffer.isBuffer(content) || content.length === 0)
        throw new AppError('ERR_VAL_MISSING_FIELD', 'the attachment is empty', { status: 400 });
      const id = uuidv7();
      const sha256 = createHash('sha256').update(content).digest('hex');
      return tenantTx(db, actor, async (tx) => {
        const row = await repo.insertAttachment(tx, {
          tenantId,
          id,
          contentType,
          filename: filename ?? null,
          sha256,
          content,
          createdBy: actor.principal.clientId,
        });
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'attachment.create',
            { type: 'attachment', id },
            { details: { size: content.length } },
          ),
        );
        return out(row);
      });
    },

    /** The file itself: evidence is sensitive, so reading it needs sensitive:read and is audited. */
    async read(actor: Actor, id: string): Promise<{ meta: Attachment; content: Buffer }> {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.scopes.has('sensitive:read')) {
        throw forbidden('reading an attachment needs the sensitive:read scope');
      }
      return tenantTx(db, actor, async (tx) => {
        const row = await repo.findAttachment(tx, tenantId, id);
        if (!row) throw notFound('attachment');
        // Evidence of a person the caller may not see is as missing as an unknown id.
        for (const personId of await repo.personsReferencingAttachment(tx, tenantId, id)) {
          const person = await findPerson(tx, tenantId, personId);
          await readablePerson(tx, actor, tenantId, person, 'read').catch(() => {
            throw notFound('attachment');
          });
        }
        await recordAudit(tx, actor, auditOf(actor, 'consent.evidence_access', { type: 'attachment', id }));
        return { meta: out(row), content: Buffer.from(row.content) };
      });
    },
  };
}

export type AttachmentService = ReturnType<typeof createAttachmentService>;
