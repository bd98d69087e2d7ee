import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../http/etag.js';
import { Nullable, Uuid } from '../http/schemas.js';
import {
  ArchiveBody,
  DuplicateCandidate,
  PersonCreate,
  PersonCreated,
  PersonPatch,
  PersonSearchHit,
  PersonSearchQuery,
  PersonUpdated,
  PersonView,
  RestoreBody,
  SearchWarning,
  VerifyBody,
  VersionEntry,
} from './person-schemas.js';
import { Relationship } from './relationships.js';

const Params = Type.Object({ person_id: Uuid() });
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'expected version_id, e.g. "3"' })),
});
const tags = ['persons'];
const read = { scopes: ['persons:read'] } as const;
const write = { scopes: ['persons:write'] } as const;

export const personRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { persons, personSearch, relationships } = app.hearth.services;

  app.post(
    '/api/v1/persons',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Register a person (provisional until verified); likely duplicates are listed',
        description:
          'An identity (identity_type, identity_number) is unique per tenant among non-archived persons: a clash is a 409 and nothing is written.',
        body: PersonCreate,
        response: { 201: PersonCreated },
      },
    },
    async (request, reply) => {
      const person = await persons.create(request.actor!, request.body);
      return reply
        .code(201)
        .header('Location', `/api/v1/persons/${person.person_id}`)
        .header('ETag', etagOf(person.version_id))
        .send(person);
    },
  );

  app.get(
    '/api/v1/persons/search',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Search persons by a criterion, area (with descendants) or radius',
        description:
          'criteria_id: identity ("number" or "type|number"), name (fuzzy), phone, email, birth_date, gender, status, ' +
          'verification_status. identity, phone and email are exact identifiers: open to every reader of persons, the ' +
          'hits still pass the access decision. Other criteria on a field the caller only ever sees masked are refused ' +
          '(403); a person matches only when the caller sees the field. Radius search needs lat, lon and radius_km and ' +
          'a role that sees positions (sensitive); results are ordered ' +
          'by distance and a person is placed at its household, else at its geo area centroid.',
        querystring: PersonSearchQuery,
        response: {
          200: Type.Object({
            data: Type.Array(PersonSearchHit),
            next_cursor: Nullable(Type.String()),
            warnings: Type.Array(SearchWarning),
          }),
        },
      },
    },
    async (request) =>
      personSearch.search(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/persons',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'List persons (the search without criteria)',
        // Strict: a search parameter (lat, criteria_id…) on the list is refused, never half-applied.
        querystring: Type.Object(
          {
            limit: PersonSearchQuery.properties.limit,
            cursor: PersonSearchQuery.properties.cursor,
            status: PersonSearchQuery.properties.status,
            geo_id: PersonSearchQuery.properties.geo_id,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(PersonSearchHit),
            next_cursor: Nullable(Type.String()),
            warnings: Type.Array(SearchWarning),
          }),
        },
      },
    },
    async (request) => {
      const { limit, cursor, status, geo_id } = request.query;
      return personSearch.search(request.actor!, { cursor, status, geo_id, limit: limit ?? 50 });
    },
  );

  app.get(
    '/api/v1/persons/:person_id',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Read a person (masked as the caller’s consent and scopes require)',
        params: Params,
        response: { 200: PersonView },
      },
    },
    async (request, reply) => {
      const person = await persons.get(request.actor!, request.params.person_id);
      return reply.header('ETag', etagOf(person.version_id)).send(person);
    },
  );

  app.patch(
    '/api/v1/persons/:person_id',
    {
      config: { auth: write },
      schema: {
        tags,
        summary:
          'Update a person; If-Match guards against lost updates; identities and contacts are replaced as sets',
        params: Params,
        headers: IfMatch,
        body: PersonPatch,
        response: { 200: PersonUpdated },
      },
    },
    async (request, reply) => {
      const person = await persons.patch(
        request.actor!,
        request.params.person_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(person.version_id)).send(person);
    },
  );

  app.post(
    '/api/v1/persons/:person_id/verify',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Set the verification status',
        params: Params,
        body: VerifyBody,
        response: { 200: PersonView },
      },
    },
    async (request) => persons.verify(request.actor!, request.params.person_id, request.body),
  );

  app.post(
    '/api/v1/persons/:person_id/archive',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Archive a person (read-only afterwards; nothing is deleted)',
        params: Params,
        body: ArchiveBody,
        response: { 200: PersonView },
      },
    },
    async (request) => persons.archive(request.actor!, request.params.person_id, request.body),
  );

  app.post(
    '/api/v1/persons/:person_id/restore',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Restore an archived person',
        params: Params,
        body: RestoreBody,
        response: { 200: PersonView },
      },
    },
    async (request) => persons.restore(request.actor!, request.params.person_id, request.body),
  );

  app.get(
    '/api/v1/persons/:person_id/versions',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Change history of a person (values masked like the person)',
        params: Params,
        response: { 200: Type.Object({ data: Type.Array(VersionEntry) }) },
      },
    },
    async (request) => ({ data: await persons.versions(request.actor!, request.params.person_id) }),
  );

  app.get(
    '/api/v1/persons/:person_id/duplicates',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Likely duplicates of a person, with a score',
        params: Params,
        response: { 200: Type.Object({ data: Type.Array(DuplicateCandidate) }) },
      },
    },
    async (request) => ({ data: await persons.duplicates(request.actor!, request.params.person_id) }),
  );

  app.get(
    '/api/v1/persons/:person_id/relationships',
    {
      config: { auth: read },
      schema: {
        tags: ['relationships'],
        summary: 'Family relationships of a person',
        params: Params,
        response: { 200: Type.Object({ data: Type.Array(Relationship) }) },
      },
    },
    async (request) => ({ data: await relationships.ofPerson(request.actor!, request.params.person_id) }),
  );
};
