import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Page, PageQuery, Uuid } from '../http/schemas.js';
import { ExtensionSchemaCreate, ExtensionSchemaOut } from './extensions.js';
import { GeoArea, GeoAreaCreate } from './geo.js';
import { Relationship, RelationshipCreate, RelationshipEnd, RelationshipPatch } from './relationships.js';

const RelParams = Type.Object({ relationship_id: Uuid() });

/** Family relationships, geo areas and extension schemas. */
export const registryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { relationships, geo, extensions } = app.hearth.services;

  app.post(
    '/api/v1/relationships',
    {
      config: { auth: { scopes: ['relationships:write'] } },
      schema: {
        tags: ['relationships'],
        summary: 'Record a base family relationship (parent, mother, father, spouse, guardian)',
        body: RelationshipCreate,
        response: { 201: Relationship },
      },
    },
    async (request, reply) => reply.code(201).send(await relationships.create(request.actor!, request.body)),
  );

  app.get(
    '/api/v1/relationships/:relationship_id',
    {
      config: { auth: { scopes: ['persons:read'] } },
      schema: {
        tags: ['relationships'],
        summary: 'Read a relationship',
        params: RelParams,
        response: { 200: Relationship },
      },
    },
    async (request) => relationships.get(request.actor!, request.params.relationship_id),
  );

  app.patch(
    '/api/v1/relationships/:relationship_id',
    {
      config: { auth: { scopes: ['relationships:write'] } },
      schema: {
        tags: ['relationships'],
        summary: 'Change effective_until or verification_status (versioned, with a reason)',
        params: RelParams,
        body: RelationshipPatch,
        response: { 200: Relationship },
      },
    },
    async (request) => relationships.patch(request.actor!, request.params.relationship_id, request.body),
  );

  app.post(
    '/api/v1/relationships/:relationship_id/end',
    {
      config: { auth: { scopes: ['relationships:write'] } },
      schema: {
        tags: ['relationships'],
        summary: 'End a relationship (sets effective_until)',
        params: RelParams,
        body: RelationshipEnd,
        response: { 200: Relationship },
      },
    },
    async (request) => relationships.end(request.actor!, request.params.relationship_id, request.body),
  );

  app.get(
    '/api/v1/geo-areas',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags: ['geo'],
        summary: 'Administrative areas of the tenant',
        querystring: Type.Object({
          ...PageQuery,
          parent_geo_id: Type.Optional(Uuid()),
          level: Type.Optional(Type.Integer()),
        }),
        response: { 200: Page(GeoArea) },
      },
    },
    async (request) => geo.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/geo-areas/:geo_id',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags: ['geo'],
        summary: 'Read an area',
        params: Type.Object({ geo_id: Uuid() }),
        response: { 200: GeoArea },
      },
    },
    async (request) => geo.get(request.actor!, request.params.geo_id),
  );

  app.post(
    '/api/v1/geo-areas',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags: ['geo'],
        summary: 'Add an area under a parent (tenant admin)',
        body: GeoAreaCreate,
        response: { 201: GeoArea },
      },
    },
    async (request, reply) => reply.code(201).send(await geo.create(request.actor!, request.body)),
  );

  app.get(
    '/api/v1/extension-schemas',
    {
      config: { auth: { scopes: ['vocabulary:read'] } },
      schema: {
        tags: ['extensions'],
        summary: 'Registered extension schemas',
        response: { 200: Type.Object({ data: Type.Array(ExtensionSchemaOut) }) },
      },
    },
    async (request) => ({ data: await extensions.list(request.actor!) }),
  );

  app.post(
    '/api/v1/extension-schemas',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags: ['extensions'],
        summary: 'Register an extension (a JSON Schema for extensions.<name>) (tenant admin)',
        body: ExtensionSchemaCreate,
        response: { 201: ExtensionSchemaOut },
      },
    },
    async (request, reply) => reply.code(201).send(await extensions.register(request.actor!, request.body)),
  );
};
