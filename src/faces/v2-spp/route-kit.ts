import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Outcome } from './support.js';

export type { Outcome };

/** The path parameter of every addressed resource. */
export const Id = Type.Object({
  identifier: Type.String({
    minLength: 3,
    maxLength: 500,
    description: '{system}|{value}, URL-encoded (# as %23)',
  }),
});

export const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'meta.versionId, e.g. "3"' })),
});

/** Sends an operation's outcome with its Location and ETag. */
export const send = (reply: FastifyReply, o: Outcome) => {
  if (o.location) reply.header('Location', o.location);
  if (o.etag) reply.header('ETag', o.etag);
  return reply.code(o.status).send(o.resource);
};

export const scope = (s: string) => ({ auth: { scopes: [s] } });

/**
 * Media types of a PATCH body for the OpenAPI document (@fastify/swagger's `consumes`). Both are
 * parsed as JSON and validated by the one `schema.body`; a `body.content` map would validate only
 * the media types it names and let any other parsed type through unvalidated.
 */
export const MERGE_PATCH_MEDIA = ['application/merge-patch+json', 'application/json'];
