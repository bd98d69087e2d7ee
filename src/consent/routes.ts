import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import { errorResponses, Page, Uuid } from '../http/schemas.js';
import { ATTACHMENT_TYPES } from './attachments.js';
import {
  Attachment,
  CONSENT_STATUSES,
  Consent,
  ConsentCapture,
  ConsentExpire,
  ConsentQueueQuery,
  ConsentReject,
  ConsentRenew,
  ConsentVerify,
  ConsentVersionDetail,
  ConsentVersionSummary,
  ConsentWithdraw,
  EvidenceOut,
} from './schemas.js';

const PersonParams = Type.Object({ person_id: Uuid() });
const Params = Type.Object({ consent_id: Uuid() });
const tags = ['consents'];

export const consentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { consents, attachments } = app.hearth.services;
  const maxBytes = app.hearth.config.attachmentMaxBytes;

  app.post(
    '/api/v1/persons/:person_id/consents',
    {
      config: { auth: { scopes: ['consents:write'] } },
      schema: {
        tags,
        summary: 'Capture a consent (refused for provisional persons)',
        description:
          'Without both evidence and a verification document the consent stays pending; with them it is active, or pending ' +
          'until verified when the tenant requires verification.',
        params: PersonParams,
        body: ConsentCapture,
        response: { 201: Consent },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await consents.capture(request.actor!, request.params.person_id, request.body)),
  );

  app.get(
    '/api/v1/persons/:person_id/consents',
    {
      config: { auth: { scopes: ['consents:read'] } },
      schema: {
        tags,
        summary: 'Consents of a person',
        params: PersonParams,
        querystring: Type.Object({
          vertical_id: Type.Optional(Uuid()),
          status: Type.Optional(Type.String({ enum: [...CONSENT_STATUSES] })),
        }),
        response: { 200: Type.Object({ data: Type.Array(Consent) }) },
      },
    },
    async (request) => ({
      data: await consents.listForPerson(request.actor!, request.params.person_id, request.query),
    }),
  );

  app.get(
    '/api/v1/consents',
    {
      config: { auth: { scopes: ['consents:read'] } },
      schema: {
        tags,
        summary: 'The tenant’s consents as a work queue: awaiting verification, expiring, in grace',
        description:
          'Staff only (a consent-bound caller gets 403: it reads consents per person). Filter with ' +
          '`status=pending` for the verification queue, `expiring_before` for renewals due, `in_grace=true` ' +
          'for consents past their end that still allow reads. A client limited to verticals sees only theirs. ' +
          'Ordered by consent id (oldest first), in pages of `limit` with `next_cursor`.',
        querystring: ConsentQueueQuery,
        response: { 200: Page(Consent) },
      },
    },
    async (request) => consents.queue(request.actor!, request.query),
  );

  app.get(
    '/api/v1/consents/:consent_id',
    {
      config: { auth: { scopes: ['consents:read'] } },
      schema: { tags, summary: 'Read a consent', params: Params, response: { 200: Consent } },
    },
    async (request) => consents.get(request.actor!, request.params.consent_id),
  );

  const transition = <B extends TSchema>(scope: string, summary: string, body: B) => ({
    config: { auth: { scopes: [scope] } },
    schema: { tags, summary, params: Params, body, response: { 200: Consent } },
  });
  app.post(
    '/api/v1/consents/:consent_id/verify',
    transition('consents:verify', 'Verify a pending consent (needs its evidence) → active', ConsentVerify),
    async (request) => consents.verify(request.actor!, request.params.consent_id, request.body),
  );
  app.post(
    '/api/v1/consents/:consent_id/reject',
    transition(
      'consents:verify',
      'Reject a pending consent (grants nothing, never enters grace)',
      ConsentReject,
    ),
    async (request) => consents.reject(request.actor!, request.params.consent_id, request.body),
  );
  app.post(
    '/api/v1/consents/:consent_id/withdraw',
    transition('consents:write', 'Withdraw a consent, effective at once', ConsentWithdraw),
    async (request) => consents.withdraw(request.actor!, request.params.consent_id, request.body),
  );
  app.post(
    '/api/v1/consents/:consent_id/renew',
    transition(
      'consents:write',
      'Renew with a new window and evidence (never for a rejected consent: 409)',
      ConsentRenew,
    ),
    async (request) => consents.renew(request.actor!, request.params.consent_id, request.body),
  );
  app.post(
    '/api/v1/consents/:consent_id/expire',
    transition('consents:write', 'Expire an active consent; read-only grace follows', ConsentExpire),
    async (request) => consents.expire(request.actor!, request.params.consent_id, request.body),
  );

  app.get(
    '/api/v1/consents/:consent_id/evidence',
    {
      config: { auth: { scopes: ['consents:read'] } },
      schema: {
        tags,
        summary: 'Evidence attachment ids (masked unless sensitive:read; unmasked access is audited)',
        params: Params,
        response: { 200: EvidenceOut },
      },
    },
    async (request) => consents.evidence(request.actor!, request.params.consent_id),
  );

  app.get(
    '/api/v1/consents/:consent_id/versions',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags,
        summary: 'Version history (ROOT and tenant admins only)',
        params: Params,
        response: { 200: Type.Object({ data: Type.Array(ConsentVersionSummary) }) },
      },
    },
    async (request) => ({ data: await consents.versions(request.actor!, request.params.consent_id) }),
  );

  app.get(
    '/api/v1/consents/:consent_id/versions/:version_id',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags,
        summary: 'One version (ROOT and tenant admins only)',
        params: Type.Object({ consent_id: Uuid(), version_id: Type.Integer({ minimum: 1 }) }),
        response: { 200: ConsentVersionDetail },
      },
    },
    async (request) =>
      (await consents.versions(request.actor!, request.params.consent_id, request.params.version_id))[0],
  );

  await app.register(async (plugin) => {
    const files = plugin.withTypeProvider<TypeBoxTypeProvider>();
    files.addContentTypeParser(
      [...ATTACHMENT_TYPES],
      { parseAs: 'buffer', bodyLimit: maxBytes },
      (_req, body, done) => done(null, body),
    );
    files.post(
      '/api/v1/attachments',
      {
        bodyLimit: maxBytes,
        config: { auth: { scopes: ['consents:write'] } },
        schema: {
          tags,
          summary: 'Upload an evidence file as the raw body with its Content-Type',
          description: `Accepted types: ${ATTACHMENT_TYPES.join(', ')}; at most HEARTH_ATTACHMENT_MAX_BYTES.`,
          querystring: Type.Object({ filename: Type.Optional(Type.String({ maxLength: 255 })) }),
          response: { 201: Attachment },
        },
      },
      async (request, reply) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        const saved = await attachments.store(
          request.actor!,
          request.body as Buffer,
          type,
          request.query.filename,
        );
        return reply.code(201).send(saved);
      },
    );
    files.get(
      '/api/v1/attachments/:attachment_id',
      {
        config: { auth: { scopes: ['consents:read', 'sensitive:read'] } },
        schema: {
          tags,
          summary: 'Download an attachment (sensitive:read; audited)',
          params: Type.Object({ attachment_id: Uuid() }),
          response: {
            200: {
              description: 'the stored bytes, with the Content-Type they were uploaded with',
              content: { '*/*': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } },
            },
            ...errorResponses(403, 404),
          },
        },
      },
      async (request, reply) => {
        const { meta, content } = await attachments.read(request.actor!, request.params.attachment_id);
        return reply
          .type(meta.content_type)
          .header(
            'Content-Disposition',
            `attachment; filename="${(meta.filename ?? meta.attachment_id).replace(/[^\w.-]/g, '_')}"`,
          )
          .header('Cache-Control', 'no-store')
          .send(content);
      },
    );
  });
};
