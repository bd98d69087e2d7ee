import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  addMember,
  createGroup,
  GroupSearchQuery,
  readGroup,
  removeMember,
  searchGroups,
  updateGroup,
} from './group-ops.js';
import { Id, IfMatch, MERGE_PATCH_MEDIA, scope, send } from './route-kit.js';
import {
  AddMemberIn,
  GroupIn,
  GroupMemberOpOut,
  GroupOut,
  GroupPatchIn,
  RemoveMemberIn,
  SearchResult,
} from './schemas.js';
import { unitOfWork } from './unit-of-work.js';

/** Group: search, read, create, replace, merge-patch, $add-member, $remove-member. */
export const groupRoutes: FastifyPluginAsyncTypebox = async (v2) => {
  const uow = unitOfWork(v2.hearth);
  const tags = ['openspp-v2'];

  // ---- Group
  v2.get(
    '/Group',
    {
      config: scope('households:read'),
      schema: {
        tags,
        summary: 'Search Groups',
        querystring: GroupSearchQuery,
        response: { 200: SearchResult(GroupOut) },
      },
    },
    (request) => uow(request.actor!, (d) => searchGroups(d, request.actor!, request.query)),
  );
  v2.get(
    '/Group/:identifier',
    {
      config: scope('households:read'),
      schema: {
        tags,
        summary: 'Read a Group by {system}|{value}',
        params: Id,
        response: { 200: GroupOut },
      },
    },
    async (request, reply) =>
      send(reply, await uow(request.actor!, (d) => readGroup(d, request.actor!, request.params.identifier))),
  );
  v2.post(
    '/Group',
    {
      config: scope('households:write'),
      schema: {
        tags,
        summary: 'Create a Group with its members (exactly one with the role head)',
        body: GroupIn,
        response: { 201: GroupOut },
      },
    },
    async (request, reply) =>
      send(reply, await uow(request.actor!, (d) => createGroup(d, request.actor!, request.body))),
  );
  for (const method of ['put', 'patch'] as const) {
    v2[method](
      '/Group/:identifier',
      {
        config: scope('households:write'),
        schema: {
          tags,
          summary:
            method === 'put'
              ? 'Replace a Group (members change with $add-member/$remove-member)'
              : 'Merge-patch a Group',
          ...(method === 'patch' ? { consumes: MERGE_PATCH_MEDIA } : {}),
          params: Id,
          headers: IfMatch,
          body: method === 'put' ? GroupIn : GroupPatchIn,
          response: { 200: GroupOut },
        },
      },
      async (request, reply) =>
        send(
          reply,
          await uow(request.actor!, (d) =>
            updateGroup(
              d,
              request.actor!,
              request.params.identifier,
              request.body,
              method,
              request.headers['if-match'],
            ),
          ),
        ),
    );
  }
  v2.post(
    '/Group/:identifier/$add-member',
    {
      config: scope('households:write'),
      schema: {
        tags,
        summary: 'Add an Individual to a Group',
        params: Id,
        body: AddMemberIn,
        response: { 201: GroupMemberOpOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          addMember(d, request.actor!, request.params.identifier, request.body),
        ),
      ),
  );
  v2.post(
    '/Group/:identifier/$remove-member',
    {
      config: scope('households:write'),
      schema: {
        tags,
        summary: 'End an Individual’s membership of a Group (a reason is required)',
        params: Id,
        body: RemoveMemberIn,
        response: { 200: GroupMemberOpOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          removeMember(d, request.actor!, request.params.identifier, request.body),
        ),
      ),
  );
};
