import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseBearer } from '../../auth/authenticator.js';
import { rateLimited } from '../../auth/hooks.js';
import { clientCredentialsGrant } from '../../auth/oauth.js';
import { type Actor, hasScope, type Principal } from '../../auth/principal.js';
import { sendTokenError, TokenRequestBody, TokenResponse } from '../../auth/routes.js';
import type { Scope } from '../../auth/scopes.js';
import { AppError } from '../../http/errors.js';
import { errorResponses } from '../../http/schemas.js';
import { type ExtensionSchemaOut, SYSTEM_EXTENSIONS } from '../../registry/extensions.js';
import { ISO_5218 } from '../../vocabulary/seed.js';
import {
  GROUP_ID_SYSTEM,
  MEMBERSHIP_ID_SYSTEM,
  PERSON_ID_SYSTEM,
  PROGRAM_CODE_SYSTEM,
  PROGRAM_ID_SYSTEM,
  systemOfIdentityType,
  V2_BASE,
} from './identifiers.js';
import { mapV2Scope, v2ScopeNames } from './scopes.js';

const SEARCH = ['_count', '_offset'];

/** What `GET /metadata` says: resources, their operations and search parameters, and how to authenticate. */
export const METADATA = {
  apiVersion: '2.0.0',
  server: 'Hearth',
  fhirLike: true,
  resources: [
    {
      type: 'Individual',
      operations: ['read', 'search', 'create', 'update', 'patch', 'groups'],
      searchParams: [
        'identifier',
        'name',
        'birthdate',
        'gender',
        'group',
        '_lastUpdated',
        ...SEARCH,
        '_sort',
      ],
      sort: ['name', 'birthdate', '_lastUpdated'],
      scopes: {
        read: 'individual:read',
        search: 'individual:read',
        write: 'individual:create individual:update',
      },
    },
    {
      type: 'Group',
      operations: ['read', 'search', 'create', 'update', 'patch', '$add-member', '$remove-member'],
      searchParams: ['identifier', 'name', 'type', 'member', '_lastUpdated', ...SEARCH, '_sort'],
      sort: ['name', '_lastUpdated'],
      scopes: { read: 'group:read', search: 'group:read', write: 'group:create group:update' },
    },
    {
      type: 'Program',
      operations: ['read', 'search'],
      searchParams: ['name', 'status', 'targetType', ...SEARCH],
    },
    {
      type: 'ProgramMembership',
      operations: ['read', 'search', 'create', 'update'],
      searchParams: ['program', 'beneficiary', 'status', ...SEARCH],
    },
    { type: 'Vocabulary', operations: ['read', 'codes'] },
    { type: 'Bundle', operations: ['$batch'], bundleTypes: ['transaction', 'batch'] },
  ],
  identifierSystems: {
    individual: PERSON_ID_SYSTEM,
    group: GROUP_ID_SYSTEM,
    program: PROGRAM_ID_SYSTEM,
    programCode: PROGRAM_CODE_SYSTEM,
    programMembership: MEMBERSHIP_ID_SYSTEM,
    identityTypes: systemOfIdentityType('{id-type code}'),
    gender: ISO_5218,
  },
  /** Filled per request by `extensionsFor`: system extensions, and the caller's tenant's with a token. */
  extensions: [] as ExtensionMeta[],
  extensionsVisibility:
    'Without a token: the extensions every tenant has. With a bearer token holding vocabulary:read, ' +
    'persons:* or households:*: those and the extensions registered by the token’s tenant ' +
    '(GET /api/v1/extension-schemas). An invalid token is answered as no token.',
  authentication: {
    type: 'oauth2',
    flow: 'client_credentials',
    token_endpoint: `${V2_BASE}/oauth/token`,
    grant_types: ['client_credentials'],
    credentials: ['HTTP Basic', 'form body', 'JSON body'],
  },
  errors: 'application/problem+json (RFC 9457) with detail, code and errors[]',
};

/** An extension as OpenSPP's `/metadata` lists it (url, module, appliesTo, fields), with its `extension{}` key. */
interface ExtensionMeta {
  url: string;
  name: string;
  module: 'hearth' | 'tenant';
  appliesTo: ('Individual' | 'Group')[];
  fields: string[];
}

const APPLIES_TO: Record<string, ExtensionMeta['appliesTo']> = {
  person: ['Individual'],
  household: ['Group'],
  both: ['Individual', 'Group'],
};

function extensionMeta(
  row: Pick<ExtensionSchemaOut, 'name' | 'namespace' | 'applies_to' | 'schema'>,
  module: ExtensionMeta['module'],
): ExtensionMeta {
  const props = row.schema.properties;
  return {
    url: row.namespace,
    name: row.name,
    module,
    appliesTo: APPLIES_TO[row.applies_to] ?? [],
    fields: props && typeof props === 'object' ? Object.keys(props) : [],
  };
}

const SYSTEM_EXTENSION_META = Object.values(SYSTEM_EXTENSIONS).map((e) => extensionMeta(e, 'hearth'));

/** Scopes that let a token see its tenant's extension schemas here (the native list needs the first). */
const EXTENSION_READERS: Scope[] = [
  'vocabulary:read',
  'persons:read',
  'persons:write',
  'households:read',
  'households:write',
];

const ExtensionMetaSchema = Type.Object({
  url: Type.String({ examples: ['urn:hearth:extension:farmer'] }),
  name: Type.String({ description: 'the key of this extension in a resource’s `extension` object' }),
  module: Type.Union([Type.Literal('hearth'), Type.Literal('tenant')]),
  appliesTo: Type.Array(Type.Union([Type.Literal('Individual'), Type.Literal('Group')])),
  fields: Type.Array(Type.String()),
});

const MetadataSchema = Type.Object(
  {
    apiVersion: Type.String(),
    extensions: Type.Array(ExtensionMetaSchema),
    resources: Type.Array(Type.Object({ type: Type.String() }, { additionalProperties: true })),
    authentication: Type.Object(
      { type: Type.String(), token_endpoint: Type.String() },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);

/** `POST /oauth/token` (the same tokens as /oauth/token, V2 scope names accepted) and `GET /metadata`. */
export const v2MetaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app.hearth;

  /**
   * The principal of an optional bearer token on this public route, or null (no token, another
   * scheme, or a token that does not verify: answered as anonymous). A valid token counts against
   * its client's rate limit like any authenticated request.
   */
  async function optionalPrincipal(authorization: string | undefined): Promise<Principal | null> {
    const token = authorization ? parseBearer(authorization) : null;
    if (!token) return null;
    let principal: Principal;
    try {
      principal = await services.authenticator.fromBearer(token);
    } catch (err) {
      if (err instanceof AppError && err.status === 401) return null;
      throw err;
    }
    const limit = principal.rateLimitPerMinute ?? app.hearth.config.rateLimitPerMinute;
    const decision = await services.limiter.consume(`client:${principal.clientId}`, limit);
    if (!decision.allowed) throw rateLimited(decision);
    return principal;
  }

  /** System extensions, then the tenant's own: only ever the tenant of the caller's token. */
  async function extensionsFor(principal: Principal | null, requestId: string, ip: string) {
    if (!principal?.tenantId || !EXTENSION_READERS.some((s) => hasScope(principal, s)))
      return SYSTEM_EXTENSION_META;
    const actor: Actor = {
      principal,
      tenantId: principal.tenantId,
      correlationId: requestId,
      ip,
      sourceSystem: principal.sourceSystem,
      audit: { recorded: false },
    };
    const rows = await services.extensions.list(actor);
    return [...SYSTEM_EXTENSION_META, ...rows.map((r) => extensionMeta(r, 'tenant'))];
  }

  app.get(
    '/metadata',
    {
      config: { auth: { public: true } },
      schema: {
        tags: ['openspp-v2'],
        summary: 'What this OpenSPP API V2 face offers (public; a bearer token adds its tenant’s extensions)',
        response: { 200: MetadataSchema },
      },
    },
    async (request, reply) => {
      const principal = await optionalPrincipal(request.headers.authorization);
      const extensions = await extensionsFor(principal, request.id, request.ip);
      return reply
        .header('Cache-Control', principal ? 'private, max-age=300' : 'public, max-age=300')
        .header('Vary', 'Authorization')
        .send({ ...METADATA, extensions });
    },
  );

  await app.register(async (token) => {
    token.setErrorHandler((err, request, reply) => sendTokenError(request, reply, err));
    // The seed names the endpoint `POST /token`; OpenSPP deployments serve `/oauth/token`: both.
    for (const url of ['/oauth/token', '/token'])
      token.post(
        url,
        {
          config: { auth: { public: true }, auditPublic: false },
          schema: {
            tags: ['openspp-v2'],
            summary: `OAuth 2.0 client credentials token (OpenSPP V2 scope names accepted)${url === '/token' ? ' — alias of /oauth/token' : ''}`,
            description:
              'Credentials as HTTP Basic, form body or JSON body. V2 scopes (individual:read, group:create, ' +
              'program_membership:update, vocabulary:read, …) map onto Hearth scopes; the answer lists the V2 names.',
            // Validated by the one body schema whatever the media type (see MERGE_PATCH_MEDIA).
            consumes: ['application/x-www-form-urlencoded', 'application/json'],
            body: TokenRequestBody,
            response: {
              200: Type.Object({
                ...TokenResponse.properties,
                hearth_scope: Type.String({ description: 'the same scopes by their Hearth names' }),
              }),
              ...errorResponses(400, 401, 429),
            },
          },
        },
        async (request, reply) => {
          const issued = await clientCredentialsGrant(services.oauth, {
            body: (request.body ?? {}) as Record<string, unknown>,
            authorization: request.headers.authorization,
            ip: request.ip,
            correlationId: request.id,
            mapScope: mapV2Scope,
          });
          const hearth = issued.scope;
          return reply
            .header('Cache-Control', 'no-store')
            .header('Pragma', 'no-cache')
            .send({
              ...issued,
              scope: v2ScopeNames(hearth ? hearth.split(' ') : []).join(' '),
              hearth_scope: hearth,
            });
        },
      );
  });
};
