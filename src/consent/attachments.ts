import { createHash } from 'node:crypto';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, forbidden, notFound } from '../http/errors.js';
import { uuidv7 } from '../lib/ids.js';
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

interface Row {
  id: string;
  sha256: string;
  size: number;
  content_type: string;
  filename: string | null;
  created_at: Date;
}

const out = (r: Row): Attachment => ({
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
      if (content.length === 0)
        throw new AppError('ERR_VAL_MISSING_FIELD', 'the attachment is empty', { status: 400 });
      const id = uuidv7();
      const sha256 = createHash('sha256').update(content).digest('hex');
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<Row>(
          `INSERT INTO attachments (tenant_id, id, content_type, filename, size, sha256, content, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, sha256, size, content_type, filename, created_at`,
          [
            tenantId,
            id,
            contentType,
            filename ?? null,
            content.length,
            sha256,
            content,
            actor.principal.clientId,
          ],
        );
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
        return out(rows[0]);
      });
    },

    /** The file itself: evidence is sensitive, so reading it needs sensitive:read and is audited. */
    async read(actor: Actor, id: string): Promise<{ meta: Attachment; content: Buffer }> {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.scopes.has('sensitive:read')) {
        throw forbidden('reading an attachment needs the sensitive:read scope');
      }
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<Row & { content: Buffer }>(
          'SELECT id, sha256, size, content_type, filename, created_at, content FROM attachments WHERE tenant_id = $1 AND id = $2',
          [tenantId, id],
        );
        if (rows.length === 0) throw notFound('attachment');
        await recordAudit(tx, actor, auditOf(actor, 'consent.evidence_access', { type: 'attachment', id }));
        return { meta: out(rows[0]), content: rows[0].content };
      });
    },
  };
}

export type AttachmentService = ReturnType<typeof createAttachmentService>;
