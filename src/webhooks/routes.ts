import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Page } from '../http/schemas.js';
import {
  Delivery,
  DeliveryListQuery,
  DeliveryParams,
  KeyParams,
  KeyRotated,
  PublicJwkSchema,
  PublicKeySet,
  Webhook,
  WebhookCreate,
  WebhookListQuery,
  WebhookParams,
  WebhookPatch,
  WebhookReasonBody,
} from './schemas.js';

const tags = ['webhooks'];
const manage = { scopes: ['webhooks:manage'] } as const;
const IntegrationParams = Type.Object({ integration_id: Type.String({ format: 'uuid' }) });
const base = '/api/v1/integrations/:integration_id/webhooks';

/**
 * Webhook subscriptions of an integration, their delivery log, and the public keys receivers
 * verify signatures with. Routes only translate: the rules live in the webhook service.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const webhooks = app.hearth.services.webhooks;

  // Action bodies left out entirely are validated as `{}` (a clear 422 for the missing reason).
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {};
  });

  app.get(
    base,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'List the webhooks of an integration (filter: status)',
        params: IntegrationParams,
        querystring: WebhookListQuery,
        response: { 200: Page(Webhook) },
      },
    },
    async (request) =>
      webhooks.list(request.actor!, request.params.integration_id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.post(
    base,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Subscribe an https target to event types (the integration must be active)',
        description:
          'Creates the webhook with its own Ed25519 signing key; `public_key_id` names the key whose ' +
          'public JWK is published at /api/v1/webhook-keys/{public_key_id}.',
        params: IntegrationParams,
        body: WebhookCreate,
        response: { 201: Webhook },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await webhooks.create(request.actor!, request.params.integration_id, request.body)),
  );

  app.get(
    `${base}/:webhook_id`,
    {
      config: { auth: manage },
      schema: { tags, summary: 'Get a webhook', params: WebhookParams, response: { 200: Webhook } },
    },
    async (request) => webhooks.get(request.actor!, request.params.integration_id, request.params.webhook_id),
  );

  app.patch(
    `${base}/:webhook_id`,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Change the target, event types, end of window or contract of an active webhook',
        params: WebhookParams,
        body: WebhookPatch,
        response: { 200: Webhook },
      },
    },
    async (request) =>
      webhooks.patch(request.actor!, request.params.integration_id, request.params.webhook_id, request.body),
  );

  app.post(
    `${base}/:webhook_id/rotate-secret`,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Replace the signing key; the previous key stays published and co-signs for the overlap',
        description: 'With reason_code SECURITY_INCIDENT the previous key is withdrawn at once (no overlap).',
        params: WebhookParams,
        body: WebhookReasonBody,
        response: { 200: KeyRotated },
      },
    },
    async (request) =>
      webhooks.rotate(request.actor!, request.params.integration_id, request.params.webhook_id, request.body),
  );

  app.post(
    `${base}/:webhook_id/disable`,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Disable a webhook: deliveries stop at once; unsent ones are kept as held',
        params: WebhookParams,
        body: WebhookReasonBody,
        response: { 200: Webhook },
      },
    },
    async (request) =>
      webhooks.disable(
        request.actor!,
        request.params.integration_id,
        request.params.webhook_id,
        request.body,
      ),
  );

  app.get(
    `${base}/:webhook_id/deliveries`,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Delivery log, newest first: every attempt with time, status code, latency and error',
        params: WebhookParams,
        querystring: DeliveryListQuery,
        response: { 200: Page(Delivery) },
      },
    },
    async (request) =>
      webhooks.deliveries(request.actor!, request.params.integration_id, request.params.webhook_id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.post(
    `${base}/:webhook_id/deliveries/:delivery_id/redeliver`,
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Send a finished delivery again (a fresh round of attempts)',
        params: DeliveryParams,
        body: Type.Object({}, { additionalProperties: false }),
        response: { 202: Delivery },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await webhooks.redeliver(
            request.actor!,
            request.params.integration_id,
            request.params.webhook_id,
            request.params.delivery_id,
          ),
        ),
  );

  app.get(
    '/api/v1/webhook-keys/:public_key_id',
    {
      config: { auth: { public: true } },
      schema: {
        tags,
        summary: 'Public JWK (Ed25519) that verifies webhook signatures made with this key id',
        params: KeyParams,
        response: { 200: PublicJwkSchema },
      },
    },
    async (request, reply) =>
      reply
        .header('Cache-Control', 'public, max-age=300')
        .send(await webhooks.publicKey(request.params.public_key_id)),
  );

  app.get(
    '/.well-known/webhook-keys.json',
    {
      config: { auth: { public: true } },
      schema: {
        tags,
        summary: 'Every published webhook signing key (current ones and those in their overlap)',
        response: { 200: PublicKeySet },
      },
    },
    async (_request, reply) =>
      reply.header('Cache-Control', 'public, max-age=300').send(await webhooks.publicKeys()),
  );
};
