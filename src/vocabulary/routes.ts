import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { VocabularyCode, VocabularyCodeCreate, VocabularySchema } from './schemas.js';

const Params = Type.Object({ code: Type.String({ minLength: 1, maxLength: 200 }) });
const tags = ['vocabularies'];

export const vocabularyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { vocabularies } = app.hearth.services;

  app.get(
    '/api/v1/vocabularies',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags,
        summary: 'Vocabularies of the tenant with their namespace URIs',
        response: { 200: Type.Object({ data: Type.Array(VocabularySchema) }) },
      },
    },
    async (request) => ({ data: await vocabularies.list(request.actor!) }),
  );

  app.get(
    '/api/v1/vocabularies/:code/codes',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags,
        summary: 'Codes of a vocabulary (by code or namespace URI)',
        params: Params,
        querystring: Type.Object({ include_deprecated: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 200: Type.Object({ data: Type.Array(VocabularyCode) }) },
      },
    },
    async (request) => ({
      data: await vocabularies.codes(
        request.actor!,
        request.params.code,
        request.query.include_deprecated ?? false,
      ),
    }),
  );

  app.post(
    '/api/v1/vocabularies/:code/codes',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags,
        summary: 'Add a code to an extendable vocabulary (tenant admin)',
        params: Params,
        body: VocabularyCodeCreate,
        response: { 201: VocabularyCode },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await vocabularies.addCode(request.actor!, request.params.code, request.body)),
  );
};
