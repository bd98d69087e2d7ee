import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Page, PageQuery, Uuid } from '../http/schemas.js';
import {
  AccessPolicy,
  AccessPolicyPatch,
  Tenant,
  TenantCreate,
  TenantPatch,
  Vertical,
  VerticalCreate,
} from './schemas.js';

const TenantParams = Type.Object({ tenant_id: Uuid() });
const tags = ['tenancy'];

export const tenancyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { tenants, verticals, accessPolicy } = app.hearth.services;

  app.get(
    '/api/v1/access-policy',
    {
      config: { auth: { roles: ['tenant_admin', 'auditor'] } },
      schema: {
        tags,
        summary:
          'The tenant’s access policy: field classification, role × classification table, separation of duties',
        description:
          'Staff see basic fields always, and personal / sensitive fields as role_field_access says: `registration` ' +
          '(while no consent of their verticals is decided yet, and under consent), `consent` (only under an active ' +
          'or grace consent) or `never`. After consent is withdrawn, rejected or expired past grace, staff see basic ' +
          'fields only. Third parties (role integration, DCI senders, consent-bound clients) see a person only under ' +
          'consent, and then exactly their contracts’ field_list (basic fields without a contract).',
        response: { 200: AccessPolicy },
      },
    },
    async (request) => accessPolicy.get(request.actor!),
  );

  app.patch(
    '/api/v1/access-policy',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags,
        summary:
          'Change the tenant’s access policy (tenant admin); merged into the current overrides, audited',
        body: AccessPolicyPatch,
        response: { 200: AccessPolicy },
      },
    },
    async (request) => accessPolicy.patch(request.actor!, request.body),
  );

  app.post(
    '/api/v1/tenants',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags,
        summary: 'Create a tenant (ROOT); seeds the system verticals and vocabularies',
        body: TenantCreate,
        response: { 201: Tenant },
      },
    },
    async (request, reply) => reply.code(201).send(await tenants.create(request.actor!, request.body)),
  );

  app.get(
    '/api/v1/tenants',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags,
        summary: 'List tenants (ROOT)',
        querystring: Type.Object(PageQuery),
        response: { 200: Page(Tenant) },
      },
    },
    async (request) =>
      tenants.list(request.actor!, { limit: request.query.limit ?? 50, cursor: request.query.cursor }),
  );

  app.get(
    '/api/v1/tenants/:tenant_id',
    {
      config: { auth: { roles: ['root'] } },
      schema: { tags, summary: 'Get a tenant (ROOT)', params: TenantParams, response: { 200: Tenant } },
    },
    async (request) => tenants.get(request.actor!, request.params.tenant_id),
  );

  app.patch(
    '/api/v1/tenants/:tenant_id',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags,
        summary: 'Update a tenant’s name, status or settings (ROOT)',
        params: TenantParams,
        body: TenantPatch,
        response: { 200: Tenant },
      },
    },
    async (request) => tenants.patch(request.actor!, request.params.tenant_id, request.body),
  );

  app.get(
    '/api/v1/verticals',
    {
      config: { auth: {} },
      schema: {
        tags,
        summary: 'Verticals of the tenant (programme areas that consent and scopes bind to)',
        response: { 200: Type.Object({ data: Type.Array(Vertical) }) },
      },
    },
    async (request) => ({ data: await verticals.list(request.actor!) }),
  );

  app.post(
    '/api/v1/verticals',
    {
      config: { auth: { roles: ['tenant_admin'] } },
      schema: {
        tags,
        summary: 'Add a vertical (tenant admin)',
        body: VerticalCreate,
        response: { 201: Vertical },
      },
    },
    async (request, reply) => reply.code(201).send(await verticals.create(request.actor!, request.body)),
  );

  app.post(
    '/api/v1/signing-keys/rotate',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags: ['auth'],
        summary: 'Start signing tokens with a new key (old keys keep verifying until their tokens expire)',
        response: { 200: Type.Object({ kid: Type.String(), retired: Type.Array(Type.String()) }) },
      },
    },
    async (request) => app.hearth.services.signingKeys.rotate(request.actor!),
  );
};
