import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Actor } from '../../auth/principal.js';
import { AppError, invalid } from '../../http/errors.js';
import { toAppError } from '../../http/problem.js';
import { isUuid } from '../../lib/ids.js';
import { errorUnder, mergeExtensions } from '../../registry/person-merge.js';
import type { PersonView } from '../../registry/person-schemas.js';
import { G2P_ERROR_RESPONSES, renamed, sendG2pError } from './errors.js';
import {
  type CodeAsk,
  type Codes,
  checkIndividual,
  groupAsks,
  groupFieldName,
  groupUpdateAsks,
  householdPatchOf,
  individualAsks,
  personCreateOf,
  personFieldName,
  personMergeOf,
  registrationOf,
  updateFieldName,
  updateGroupFieldName,
} from './mapping.js';
import { groupOut, individualOut, labelsFor } from './render.js';
import {
  G2pGroupIn,
  G2pGroupOut,
  G2pGroupUpdateIn,
  G2pIndividualIn,
  G2pIndividualOut,
  G2pUpdateIn,
  GroupQuery,
  IdParams,
  IndividualQuery,
  NoQuery,
  UpdateQuery,
} from './schemas.js';

export const G2P_PREFIX = '/g2p/api/v1/registry';

const tags = ['g2p'];
const basic = (...scopes: string[]) => ({ auth: { scheme: 'basic' as const, scopes } });
const noMatch = () => new AppError('ERR_NOT_FOUND', 'the specified criteria did not match any records');

/**
 * The G2P Registry REST API (OpenG2P g2p_registry_rest_api) over the registry services: schemas
 * and mapping only. HTTP Basic with an API client's id and secret (a bearer token also works);
 * errors `{error_code: "G2P-REQ-0xx", error_message, error_description}`; ids are public ids.
 */
const g2pRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { persons, personSearch, households, householdSearch, householdRegistration, vocabularies } =
    app.hearth.services;

  app.setErrorHandler((err, request, reply) => {
    const { error, internal } = toAppError(err);
    if (internal) request.log.error({ err }, 'unhandled error');
    return sendG2pError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendG2pError(
      request,
      reply,
      new AppError('ERR_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  async function resolve(actor: Actor, asks: CodeAsk[]): Promise<Codes> {
    const codes = await vocabularies.resolveAll(actor, asks);
    return new Map(asks.map((a, i) => [a.field, codes[i]]));
  }

  app.post(
    '/individual',
    {
      config: basic('persons:write'),
      schema: {
        tags,
        summary: 'Create an individual',
        description:
          'Coded values (gender, id_type) are taken as the vocabulary code or its display name, any case; an ' +
          'unknown one is refused. name, gender and birthdate are required; phone and email formats are checked; ' +
          'registration_date defaults to today and may not be in the future.',
        body: G2pIndividualIn,
        response: { 200: G2pIndividualOut, ...G2P_ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      const body = request.body;
      checkIndividual(body);
      const codes = await resolve(actor, individualAsks(body));
      const person = await persons.create(actor, personCreateOf(body, codes)).catch((err) => {
        throw renamed(err, personFieldName(body));
      });
      const labels = await labelsFor(vocabularies, actor);
      return reply
        .header('Location', `${G2P_PREFIX}/individual/${person.person_id}`)
        .send(individualOut(person, labels));
    },
  );

  app.get(
    '/individual/:id',
    {
      config: basic('persons:read'),
      schema: {
        tags,
        summary: 'Read an individual by its public id',
        params: IdParams,
        response: { 200: G2pIndividualOut, ...G2P_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const actor = request.actor!;
      const person = await persons.get(actor, request.params.id);
      return individualOut(person, await labelsFor(vocabularies, actor));
    },
  );

  app.get(
    '/individual',
    {
      config: basic('persons:read'),
      schema: {
        tags,
        summary: 'Search individuals by name (or public id)',
        description:
          'No match is a 404 G2P-REQ-010, as in OpenG2P. Pages of `limit` (≤ 100); the X-Next-Cursor response ' +
          'header, when present, is the `cursor` of the next page.',
        querystring: IndividualQuery,
        response: { 200: Type.Array(G2pIndividualOut), ...G2P_ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      const { name, _id, cursor } = request.query;
      let found: PersonView[];
      if (_id) {
        const person = await persons.get(actor, _id);
        const wanted = name?.trim().toLowerCase();
        found = !wanted || (person.full_name ?? '').toLowerCase().includes(wanted) ? [person] : [];
      } else {
        const page = await personSearch.search(actor, {
          ...(name ? { criteria_id: 'name', criteria_value: name } : {}),
          ...(cursor ? { cursor } : {}),
          limit: request.query.limit ?? 50,
          status: 'active',
        });
        found = page.data;
        if (page.next_cursor) reply.header('X-Next-Cursor', page.next_cursor);
      }
      if (found.length === 0) throw noMatch();
      const labels = await labelsFor(vocabularies, actor);
      return found.map((p) => individualOut(p, labels));
    },
  );

  app.put(
    '/update_individual',
    {
      config: basic('persons:write'),
      schema: {
        tags,
        summary: 'Update individuals (all or none)',
        description:
          'Each item names its individual by `updateId`: its public id, or with `?id_type=` the value of one of its ' +
          'ids (an exact identifier: open to every reader of persons; the individual must still be visible to the caller). Only fields given with a value change; ids ' +
          'are added or updated by type and value; phone_numbers replace the phones and email the email.',
        querystring: UpdateQuery,
        body: G2pUpdateIn,
        response: { 200: Type.Array(G2pIndividualOut), ...G2P_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const actor = request.actor!;
      const items = request.body;
      const idType = request.query.id_type;
      const asks: CodeAsk[] = [];
      for (const [i, item] of items.entries()) {
        checkIndividual(item, `[${i}].`, false);
        asks.push(...individualAsks(item, `[${i}].`));
      }
      if (idType) asks.push({ vocabulary: 'id-type', value: idType, field: 'id_type' });
      const codes = await resolve(actor, asks);
      const ids: string[] = [];
      for (const [i, item] of items.entries()) {
        if (!idType) {
          if (!isUuid(item.updateId)) {
            throw invalid(
              `[${i}].updateId`,
              'must be a public id (UUID), or give ?id_type= with an id value',
            );
          }
          ids.push(item.updateId.toLowerCase());
          continue;
        }
        const page = await personSearch.search(actor, {
          criteria_id: 'identity',
          criteria_value: `${codes.get('id_type')}|${item.updateId}`,
          limit: 2,
          status: 'active',
        });
        if (page.data.length !== 1) throw noMatch();
        ids.push(page.data[0].person_id);
      }
      const updated = await persons
        .mergeMany(
          actor,
          items.map((item, i) => ({ id: ids[i], input: personMergeOf(item, codes, `[${i}].`) })),
        )
        .catch((err) => {
          throw renamed(err, updateFieldName(items));
        });
      const labels = await labelsFor(vocabularies, actor);
      return updated.map((p) => individualOut(p, labels));
    },
  );

  app.post(
    '/group',
    {
      config: basic('households:write', 'persons:write'),
      schema: {
        tags,
        summary: 'Create a group (household) with its members, all new individuals, at once',
        description:
          'Every member is created and joined, or nothing is written. Exactly one member has the kind Head ' +
          '(membership-role head) and leads the household; a member without kind is a member. kind is a ' +
          'group-kind code or display name (default household). A group holds no ids, phones or email in ' +
          'Hearth: give them on its members.',
        body: G2pGroupIn,
        response: { 200: G2pGroupOut, ...G2P_ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      const body = request.body;
      const codes = await resolve(actor, groupAsks(body));
      const { household_id } = await householdRegistration
        .register(actor, registrationOf(body, codes))
        .catch((err) => {
          throw renamed(err, groupFieldName(body));
        });
      const household = await households.get(actor, household_id);
      const members = await households.members(actor, household_id, false);
      const labels = await labelsFor(vocabularies, actor);
      return reply
        .header('Location', `${G2P_PREFIX}/group/${household_id}`)
        .send(groupOut(household, labels, members));
    },
  );

  app.get(
    '/group/:id',
    {
      config: basic('households:read', 'persons:read'),
      schema: {
        tags,
        summary: 'Read a group (household) and its current members',
        params: IdParams,
        response: { 200: G2pGroupOut, ...G2P_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const actor = request.actor!;
      const household = await households.get(actor, request.params.id);
      const members = await households.members(actor, request.params.id, false);
      return groupOut(household, await labelsFor(vocabularies, actor), members);
    },
  );

  app.get(
    '/group',
    {
      config: basic('households:read', 'persons:read'),
      schema: {
        tags,
        summary: 'Search groups by name (or public id)',
        description:
          'Members are listed with include_members_full=true. No match is a 404 G2P-REQ-010, as in OpenG2P; ' +
          'the X-Next-Cursor response header, when present, is the `cursor` of the next page.',
        querystring: GroupQuery,
        response: { 200: Type.Array(G2pGroupOut), ...G2P_ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      const { name, _id, cursor, include_members_full } = request.query;
      let found: Awaited<ReturnType<typeof households.get>>[];
      if (_id) {
        const household = await households.get(actor, _id);
        const wanted = name?.trim().toLowerCase();
        found = !wanted || (household.household_name ?? '').toLowerCase().includes(wanted) ? [household] : [];
      } else {
        const page = await householdSearch.search(actor, {
          ...(name ? { name } : {}),
          ...(cursor ? { cursor } : {}),
          limit: request.query.limit ?? 50,
          status: 'active',
        });
        found = page.data;
        if (page.next_cursor) reply.header('X-Next-Cursor', page.next_cursor);
      }
      if (found.length === 0) throw noMatch();
      const labels = await labelsFor(vocabularies, actor);
      const out = [];
      for (const h of found) {
        const members = include_members_full
          ? await households.members(actor, h.household_id, false)
          : undefined;
        out.push(groupOut(h, labels, members));
      }
      return out;
    },
  );

  app.put(
    '/update_group',
    {
      config: basic('households:write'),
      schema: {
        tags,
        summary: 'Update a group (household): name, kind, address, registration date, partial flag',
        description:
          "Hearth's addition (OpenG2P has no group update; docs/decisions/0068), shaped like update_individual: " +
          'a list (of one group for now) naming the group by `updateId`, its public id. Only fields given with a ' +
          'value change; kind is a group-kind code or display name. registration_date and is_partial_group are ' +
          "merged into the stored values, so they need a caller who may see the group's details (consent of " +
          'its head). Members are not changed here: the native API adds and ends them. Answers the groups ' +
          'without members (GET /group/{id} lists them).',
        querystring: NoQuery,
        body: G2pGroupUpdateIn,
        response: { 200: Type.Array(G2pGroupOut), ...G2P_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const actor = request.actor!;
      const items = request.body;
      const codes = await resolve(actor, groupUpdateAsks(items));
      const updated = [];
      for (const [i, item] of items.entries()) {
        const prefix = `[${i}].`;
        if (!isUuid(item.updateId))
          throw invalid(`${prefix}updateId`, 'must be the public id (UUID) of a group');
        const id = item.updateId.toLowerCase();
        const { patch, g2p } = householdPatchOf(item, codes, prefix);
        try {
          let ifMatch: number | undefined;
          if (g2p) {
            // A household PATCH replaces extensions whole: merge into what is stored, and write only
            // if nothing changed since it was read (If-Match on the version read).
            const current = await households.get(actor, id);
            if (current.masked_fields.includes('extensions')) {
              const field = g2p.registration_date !== undefined ? 'registration_date' : 'is_partial_group';
              const message =
                "this caller may not see the group's details (no consent of its head), so it cannot change them";
              throw new AppError('ERR_SEC_FORBIDDEN', `${field}: ${message}`, {
                errors: [{ field, message }],
              });
            }
            patch.extensions = mergeExtensions(current.extensions, { g2p });
            ifMatch = current.version_id;
          }
          updated.push(
            await households.patch(actor, id, patch, ifMatch).catch((err) => {
              // The client sent no If-Match: a concurrent write in between is a conflict to retry.
              if (!(err instanceof AppError) || err.code !== 'ERR_PRECONDITION_FAILED') throw err;
              throw new AppError(
                'ERR_CONFLICT',
                'the group changed while it was being updated; send it again',
              );
            }),
          );
        } catch (err) {
          throw renamed(errorUnder(err, `[${i}]`), updateGroupFieldName);
        }
      }
      const labels = await labelsFor(vocabularies, actor);
      return updated.map((h) => groupOut(h, labels));
    },
  );
};

/** Mounts the face at /g2p/api/v1/registry with its own error and not-found handlers. */
export const g2pFace: FastifyPluginAsync = async (app) => {
  await app.register(g2pRoutes, { prefix: G2P_PREFIX });
};
