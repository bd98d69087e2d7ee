import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Sender, SenderPut } from './senders.js';

const Params = Type.Object({ client_id: Type.String({ pattern: '^[A-Za-z0-9._-]{3,64}$' }) });
const tags = ['dci'];

/** Registration of an API client as a DCI sender: its sender_id, default callback URL and signing key. */
export const dciSenderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const senders = app.hearth.services.dciSenders;

  app.put(
    '/api/v1/dci/senders/:client_id',
    {
      config: { auth: { scopes: ['integrations:manage'] } },
      schema: {
        tags,
        summary: 'Register (or change) the DCI sender of an API client',
        description:
          'The client must then use this header.sender_id; with signature_required its envelopes must carry a ' +
          'valid Ed25519 signature by public_key. callback_url is used when a request has no sender_uri.',
        params: Params,
        body: SenderPut,
        response: { 200: Sender },
      },
    },
    async (request) => senders.put(request.actor!, request.params.client_id, request.body),
  );

  app.get(
    '/api/v1/dci/senders/:client_id',
    {
      config: { auth: { scopes: ['integrations:manage'] } },
      schema: {
        tags,
        summary: 'The DCI sender registration of an API client',
        params: Params,
        response: { 200: Sender },
      },
    },
    async (request) => senders.get(request.actor!, request.params.client_id),
  );
};
