import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../http/etag.js';
import { Nullable, Uuid } from '../http/schemas.js';
import {
  HouseholdCreate,
  HouseholdPatch,
  HouseholdSearchHit,
  HouseholdSearchQuery,
  HouseholdView,
  MemberAdd,
  MemberEnd,
  Membership,
} from './household-schemas.js';
import { ArchiveBody, PersonView, RestoreBody, SearchWarning, VersionEntry } from './person-schemas.js';

const Params = Type.Object({ household_id: Uuid() });
const MemberParams = Type.Object({ household_id: Uuid(), person_id: Uuid() });
const tags = ['households'];
const read = { scopes: ['households:read'] } as const;
const write = { scopes: ['households:write'] } as const;

export const householdRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { households, householdSearch } = app.hearth.services;

  app.post(
    '/api/v1/households',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Create a household; its leader (a person of the tenant) becomes a member with role head',
        body: HouseholdCreate,
        response: { 201: HouseholdView },
      },
    },
    async (request, reply) => {
      const h = await households.create(request.actor!, request.body);
      return reply
        .code(201)
        .header('Location', `/api/v1/households/${h.household_id}`)
        .header('ETag', etagOf(h.version_id))
        .send(h);
    },
  );

  app.get(
    '/api/v1/households/search',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Search households by area (with descendants), status or radius (ordered by distance)',
        querystring: HouseholdSearchQuery,
        response: {
          200: Type.Object({
            data: Type.Array(HouseholdSearchHit),
            next_cursor: Nullable(Type.String()),
            warnings: Type.Array(SearchWarning),
          }),
        },
      },
    },
    async (request) =>
      householdSearch.search(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/households/:household_id',
    {
      config: { auth: read },
      schema: { tags, summary: 'Read a household', params: Params, response: { 200: HouseholdView } },
    },
    async (request, reply) => {
      const h = await households.get(request.actor!, request.params.household_id);
      return reply.header('ETag', etagOf(h.version_id)).send(h);
    },
  );

  app.patch(
    '/api/v1/households/:household_id',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Update a household (geolocation changes are audited as such)',
        params: Params,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String()) }),
        body: HouseholdPatch,
        response: { 200: HouseholdView },
      },
    },
    async (request, reply) => {
      const h = await households.patch(
        request.actor!,
        request.params.household_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(h.version_id)).send(h);
    },
  );

  for (const action of ['archive', 'restore'] as const) {
    app.post(
      `/api/v1/households/:household_id/${action}`,
      {
        config: { auth: write },
        schema: {
          tags,
          summary:
            action === 'archive'
              ? 'Archive a household (memberships keep their history)'
              : 'Restore an archived household',
          ...(action === 'restore' && {
            description:
              'The household returns to the status it had before archiving (provisional or verified); ' +
              'households have no `active` status, and the body takes no target status ' +
              '(docs/decisions/0008-household-status.md).',
          }),
          params: Params,
          body: action === 'archive' ? ArchiveBody : RestoreBody,
          response: { 200: HouseholdView },
        },
      },
      async (request) => households[action](request.actor!, request.params.household_id, request.body),
    );
  }

  app.post(
    '/api/v1/households/:household_id/members',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Add a member',
        params: Params,
        body: MemberAdd,
        response: { 201: Membership },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await households.addMember(request.actor!, request.params.household_id, request.body)),
  );

  app.get(
    '/api/v1/households/:household_id/members',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Members with their memberships (ended ones with include_ended=true)',
        params: Params,
        querystring: Type.Object({ include_ended: Type.Optional(Type.Boolean({ default: false })) }),
        response: {
          200: Type.Object({
            data: Type.Array(Type.Intersect([Membership, Type.Object({ person: PersonView })])),
          }),
        },
      },
    },
    async (request) => ({
      data: await households.members(
        request.actor!,
        request.params.household_id,
        request.query.include_ended ?? false,
      ),
    }),
  );

  app.post(
    '/api/v1/households/:household_id/members/:person_id/end',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'End a membership (sets effective_until; the history stays)',
        params: MemberParams,
        body: MemberEnd,
        response: { 200: Membership },
      },
    },
    async (request) =>
      households.endMember(
        request.actor!,
        request.params.household_id,
        request.params.person_id,
        request.body,
      ),
  );

  app.get(
    '/api/v1/households/:household_id/versions',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Change history of a household',
        params: Params,
        response: { 200: Type.Object({ data: Type.Array(VersionEntry) }) },
      },
    },
    async (request) => ({ data: await households.versions(request.actor!, request.params.household_id) }),
  );
};
