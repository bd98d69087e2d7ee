import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ISO_5218 } from '../../vocabulary/seed.js';
import { unitOfWork } from './unit-of-work.js';

const VocabularyOut = Type.Object({
  type: Type.Literal('Vocabulary'),
  namespace: Type.String({ examples: ['urn:hearth:vocab:id-type'] }),
  code: Type.String(),
  name: Type.String(),
  extendable: Type.Boolean(),
  alias: Type.Optional(Type.String({ description: 'another namespace that names this vocabulary' })),
});

const CodeOut = Type.Object({
  system: Type.String(),
  code: Type.String(),
  display: Type.String(),
  deprecated: Type.Boolean(),
});

/** Vocabularies known by another namespace on this face: gender is ISO/IEC 5218 in OpenSPP. */
const ALIASES: Record<string, string> = { [ISO_5218]: 'gender' };

/** `GET /Vocabulary` and `GET /Vocabulary/{namespace}/codes` (vocabulary:read). */
export const vocabularyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const uow = unitOfWork(app.hearth);
  const tags = ['openspp-v2'];

  app.get(
    '/Vocabulary',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags,
        summary: 'Vocabularies of the tenant with their namespace URIs',
        response: {
          200: Type.Object({ data: Type.Array(VocabularyOut), meta: Type.Object({ total: Type.Integer() }) }),
        },
      },
    },
    (request) =>
      uow(request.actor!, async (d) => {
        const data = (await d.vocabularies.list(request.actor!)).map((v) => ({
          type: 'Vocabulary' as const,
          ...v,
          ...(v.code === 'gender' ? { alias: ISO_5218 } : {}),
        }));
        return { data, meta: { total: data.length } };
      }),
  );

  app.get(
    '/Vocabulary/:namespace/codes',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags,
        summary: 'Codes of a vocabulary, by namespace URI (or code); unknown → 404',
        params: Type.Object({ namespace: Type.String({ minLength: 1, maxLength: 300 }) }),
        querystring: Type.Object(
          { include_deprecated: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ namespace: Type.String(), data: Type.Array(CodeOut) }) },
      },
    },
    (request) =>
      uow(request.actor!, async (d) => {
        const ns = request.params.namespace;
        const codes = await d.vocabularies.codes(
          request.actor!,
          ALIASES[ns] ?? ns,
          request.query.include_deprecated ?? false,
        );
        return {
          namespace: ns,
          data: codes.map((c) => ({
            system: ALIASES[ns] ? ns : c.system,
            code: c.code,
            display: c.display,
            deprecated: c.deprecated,
          })),
        };
      }),
  );
};
