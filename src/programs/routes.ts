import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../http/etag.js';
import { Page, Uuid } from '../http/schemas.js';
import {
  MembershipChange,
  MembershipCreate,
  MembershipListQuery,
  MembershipView,
  ProgramArchive,
  ProgramCreate,
  ProgramListQuery,
  ProgramPatch,
  ProgramView,
} from './schemas.js';

const Params = Type.Object({ program_id: Uuid() });
const MembershipParams = Type.Object({ program_id: Uuid(), membership_id: Uuid() });
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'expected version_id, e.g. "3"' })),
});
const tags = ['programmes'];
const read = { scopes: ['programs:read'] } as const;
const write = { scopes: ['programs:write'] } as const;

/** Programmes and enrolment (memberships) under /api/v1/programs. */
export const programRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { programs, programMemberships: memberships } = app.hearth.services;

  app.post(
    '/api/v1/programs',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Create a programme',
        description:
          'A client limited to some programmes (allowed_programs) cannot create programmes. The code is unique in the tenant.',
        body: ProgramCreate,
        response: { 201: ProgramView },
      },
    },
    async (request, reply) => {
      const p = await programs.create(request.actor!, request.body);
      return reply
        .code(201)
        .header('Location', `/api/v1/programs/${p.program_id}`)
        .header('ETag', etagOf(p.version_id))
        .send(p);
    },
  );

  app.get(
    '/api/v1/programs',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'List the programmes the caller may see (allowed_programs and verticals apply)',
        querystring: ProgramListQuery,
        response: { 200: Page(ProgramView) },
      },
    },
    async (request) => programs.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/programs/:program_id',
    {
      config: { auth: read },
      schema: { tags, summary: 'Read a programme', params: Params, response: { 200: ProgramView } },
    },
    async (request, reply) => {
      const p = await programs.get(request.actor!, request.params.program_id);
      return reply.header('ETag', etagOf(p.version_id)).send(p);
    },
  );

  app.patch(
    '/api/v1/programs/:program_id',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Update a programme (If-Match guards against lost updates); an ended programme stays ended',
        params: Params,
        headers: IfMatch,
        body: ProgramPatch,
        response: { 200: ProgramView },
      },
    },
    async (request, reply) => {
      const p = await programs.patch(
        request.actor!,
        request.params.program_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(p.version_id)).send(p);
    },
  );

  app.post(
    '/api/v1/programs/:program_id/archive',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Archive a programme (read-only afterwards; nothing is deleted)',
        params: Params,
        body: ProgramArchive,
        response: { 200: ProgramView },
      },
    },
    async (request) => programs.archive(request.actor!, request.params.program_id, request.body),
  );

  app.post(
    '/api/v1/programs/:program_id/memberships',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Enrol a person or household (matching the programme’s target type)',
        params: Params,
        body: MembershipCreate,
        response: { 201: MembershipView },
      },
    },
    async (request, reply) => {
      const m = await memberships.enrol(request.actor!, request.params.program_id, request.body);
      return reply
        .code(201)
        .header('Location', `/api/v1/programs/${m.program_id}/memberships/${m.membership_id}`)
        .header('ETag', etagOf(m.version_id))
        .send(m);
    },
  );

  app.get(
    '/api/v1/programs/:program_id/memberships',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Memberships of a programme, filtered by status or beneficiary',
        params: Params,
        querystring: MembershipListQuery,
        response: { 200: Page(MembershipView) },
      },
    },
    async (request) =>
      memberships.list(request.actor!, request.params.program_id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.get(
    '/api/v1/programs/:program_id/memberships/:membership_id',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Read a membership',
        params: MembershipParams,
        response: { 200: MembershipView },
      },
    },
    async (request, reply) => {
      const m = await memberships.get(
        request.actor!,
        request.params.program_id,
        request.params.membership_id,
      );
      return reply.header('ETag', etagOf(m.version_id)).send(m);
    },
  );

  app.patch(
    '/api/v1/programs/:program_id/memberships/:membership_id',
    {
      config: { auth: write },
      schema: {
        tags,
        summary: 'Change a membership’s status (legal transitions only; exiting needs exit_reason)',
        description:
          'draft → enrolled | not_eligible | duplicated; enrolled → paused | exited | duplicated; ' +
          'paused → enrolled | exited | duplicated. exited, not_eligible and duplicated are final.',
        params: MembershipParams,
        headers: IfMatch,
        body: MembershipChange,
        response: { 200: MembershipView },
      },
    },
    async (request, reply) => {
      const m = await memberships.change(
        request.actor!,
        request.params.program_id,
        request.params.membership_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(m.version_id)).send(m);
    },
  );
};
