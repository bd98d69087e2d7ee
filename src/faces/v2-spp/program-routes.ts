import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  createMembership,
  MembershipSearchQuery,
  ProgramSearchQuery,
  readMembership,
  readProgram,
  searchMemberships,
  searchPrograms,
  updateMembership,
} from './program-ops.js';
import { Id, IfMatch, scope, send } from './route-kit.js';
import { ProgramMembershipIn, ProgramMembershipOut, ProgramOut, SearchResult } from './schemas.js';
import { unitOfWork } from './unit-of-work.js';

const ProgramParam = Type.Object({
  program: Type.Optional(
    Type.String({ minLength: 1, maxLength: 400, description: 'Program/{system}|{value}' }),
  ),
});

/** Program (read, search) and ProgramMembership (read, search, enrol, status change). */
export const v2ProgramRoutes: FastifyPluginAsyncTypebox = async (v2) => {
  const uow = unitOfWork(v2.hearth);
  const tags = ['openspp-v2'];

  // ---- Program and ProgramMembership
  v2.get(
    '/Program',
    {
      config: scope('programs:read'),
      schema: {
        tags,
        summary: 'Search programmes',
        querystring: ProgramSearchQuery,
        response: { 200: SearchResult(ProgramOut) },
      },
    },
    (request) => uow(request.actor!, (d) => searchPrograms(d, request.actor!, request.query)),
  );
  v2.get(
    '/Program/:identifier',
    {
      config: scope('programs:read'),
      schema: {
        tags,
        summary: 'Read a programme by {system}|{value}',
        params: Id,
        response: { 200: ProgramOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) => readProgram(d, request.actor!, request.params.identifier)),
      ),
  );
  v2.get(
    '/ProgramMembership',
    {
      config: scope('programs:read'),
      schema: {
        tags,
        summary: 'Search programme memberships',
        querystring: MembershipSearchQuery,
        response: { 200: SearchResult(ProgramMembershipOut) },
      },
    },
    (request) => uow(request.actor!, (d) => searchMemberships(d, request.actor!, request.query)),
  );
  v2.get(
    '/ProgramMembership/:identifier',
    {
      config: scope('programs:read'),
      schema: {
        tags,
        summary: 'Read a membership by its id or its beneficiary (?program= when in several programmes)',
        params: Id,
        querystring: ProgramParam,
        response: { 200: ProgramMembershipOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          readMembership(d, request.actor!, request.params.identifier, request.query.program),
        ),
      ),
  );
  v2.post(
    '/ProgramMembership',
    {
      config: scope('programs:write'),
      schema: {
        tags,
        summary: 'Enrol a beneficiary',
        body: ProgramMembershipIn,
        response: { 201: ProgramMembershipOut },
      },
    },
    async (request, reply) =>
      send(reply, await uow(request.actor!, (d) => createMembership(d, request.actor!, request.body))),
  );
  v2.put(
    '/ProgramMembership/:identifier',
    {
      config: scope('programs:write'),
      schema: {
        tags,
        summary: 'Change a membership’s status (legal transitions only)',
        params: Id,
        querystring: ProgramParam,
        headers: IfMatch,
        body: ProgramMembershipIn,
        response: { 200: ProgramMembershipOut },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await uow(request.actor!, (d) =>
          updateMembership(
            d,
            request.actor!,
            request.params.identifier,
            request.query.program,
            request.body,
            request.headers['if-match'],
          ),
        ),
      ),
  );
};
