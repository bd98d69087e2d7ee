import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createIndividual,
  groupsOfIndividual,
  IndividualSearchQuery,
  readIndividual,
  searchIndividuals,
  updateIndividual,
} from './individual-ops.js';
import { Id, IfMatch, MERGE_PATCH_MEDIA, scope, send } from './route-kit.js';
import {
  GroupMembershipListOut,
  IndividualIn,
  IndividualOut,
  IndividualPatchIn,
  SearchResult,
} from './schemas.js';
import { unitOfWork } from './unit-of-work.js';

/** Individual: search, read, groups, create, replace, merge-patch. */
export const individualRoutes: FastifyPluginAsyncTypebox = async (v2) => {
  const uow = unitOfWork(v2.hearth);
  const tags = ['openspp-v2'];

  // ---- Individual
  v2.get(
    '/Individual',
    {
      config: scope('persons:read'),
      schema: {
        tags,
        summary: 'Search Individuals (hidden persons are neither returned nor counted)',
        querystring: IndividualSearchQuery,
        response: { 200: SearchResult(IndividualOut) },
      },
    },
    (request) => uow(request.actor!, (d) => searchIndividuals(d, request.actor!, request.query)),
  );
  v2.get(
    '/Individual/:identifier',
    {
      config: scope('persons:read'),
      schema: {
        tags,
        summary: 'Read an Individual by {system}|{value}',
        params: Id,
        response: { 200: IndividualOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) => readIndividual(d, request.actor!, request.params.identifier)),
      ),
  );
  v2.get(
    '/Individual/:identifier/groups',
    {
      config: scope('persons:read'),
      schema: {
        tags,
        summary: 'Group memberships of an Individual',
        params: Id,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum(['active', 'inactive'])),
            _count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: GroupMembershipListOut },
      },
    },
    (request) =>
      uow(request.actor!, (d) =>
        groupsOfIndividual(
          d,
          request.actor!,
          request.params.identifier,
          request.query.status,
          request.query._count ?? 100,
        ),
      ),
  );
  v2.post(
    '/Individual',
    {
      config: scope('persons:write'),
      schema: {
        tags,
        summary: 'Create an Individual',
        body: IndividualIn,
        response: { 201: IndividualOut },
      },
    },
    async (request, reply) =>
      send(reply, await uow(request.actor!, (d) => createIndividual(d, request.actor!, request.body))),
  );
  v2.put(
    '/Individual/:identifier',
    {
      config: scope('persons:write'),
      schema: {
        tags,
        summary: 'Replace an Individual (If-Match: meta.versionId; a stale version is a 409)',
        params: Id,
        headers: IfMatch,
        body: IndividualIn,
        response: { 200: IndividualOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          updateIndividual(
            d,
            request.actor!,
            request.params.identifier,
            request.body,
            'put',
            request.headers['if-match'],
          ),
        ),
      ),
  );
  v2.patch(
    '/Individual/:identifier',
    {
      config: scope('persons:write'),
      schema: {
        tags,
        summary: 'Change an Individual with a JSON Merge Patch (If-Match: meta.versionId)',
        consumes: MERGE_PATCH_MEDIA,
        params: Id,
        headers: IfMatch,
        body: IndividualPatchIn,
        response: { 200: IndividualOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          updateIndividual(
            d,
            request.actor!,
            request.params.identifier,
            request.body,
            'patch',
            request.headers['if-match'],
          ),
        ),
      ),
  );
};
