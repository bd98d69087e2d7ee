import type { RouteOptions } from 'fastify';
import { ROLE_SCOPES, ROLES, type Role } from '../auth/scopes.js';
import type { RouteAuth } from '../http/route-auth.js';
import { securityOf, V2_FACE_PREFIX, v2ScopeFor } from './security.js';

/**
 * Per-route part of the OpenAPI document, derived from what the route itself declares (method,
 * URL, `config.auth`), so a new route is described without anyone remembering to: a stable
 * operationId named after the action, the security requirement naming its scopes, and who may
 * call it in words.
 */

/** URL prefixes of the faces: their operation ids carry the face's name. */
const FACE_PREFIXES: readonly [string, string][] = [
  [V2_FACE_PREFIX, 'v2'],
  ['/g2p/api/v1/registry', 'g2p'],
  ['/dci', 'dci'],
  ['/api/v1', ''],
];

/** Irregular paths whose derived name would read badly. */
const OPERATION_IDS: Record<string, string> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'POST /oauth/token': 'issueToken',
  'GET /.well-known/jwks.json': 'getTokenKeys',
  'GET /.well-known/webhook-keys.json': 'listWebhookKeys',
  'GET /api/v1/webhook-keys/:public_key_id': 'getWebhookKey',
  'POST /api/v1/signing-keys/rotate': 'rotateSigningKey',
  'GET /api/v1/person-imports': 'listPersonImports',
  'POST /api/v1/person-imports': 'importPersons',
  'GET /api/v1/person-imports/:import_id': 'getPersonImport',
  'GET /api/v1/person-imports/:import_id/errors': 'listPersonImportErrors',
  'GET /api/v1/audit-events/verify': 'verifyAuditChain',
  'GET /api/v1/integrations/:integration_id/data/pull': 'pullData',
  'POST /api/v1/integrations/:integration_id/data/push': 'pushData',
  'GET /api/v1/integrations/:integration_id/exchanges/:exchange_id/output': 'getExchangeOutput',
  'GET /api/v1/integrations/registry': 'listIntegrationTemplates',
  'POST /api/v1/integrations/registry': 'createIntegrationTemplate',
  'POST /api/v1/integrations/registry/:template_id/instantiate': 'instantiateIntegrationTemplate',
  'GET /api/v1/consents/:consent_id/evidence': 'getConsentEvidence',
  'POST /api/v1/attachments': 'uploadAttachment',
  'GET /api/v1/attachments/:attachment_id': 'downloadAttachment',
  'GET /api/v2/spp/metadata': 'v2GetMetadata',
  'POST /api/v2/spp/oauth/token': 'v2IssueToken',
  'POST /api/v2/spp/token': 'v2IssueTokenAtShortPath',
  'POST /api/v2/spp/$batch': 'v2RunBatch',
  'POST /dci/oauth2/client/token': 'dciIssueToken',
  'GET /dci/.well-known/jwks.json': 'dciGetKeys',
  'POST /dci/registry/sync/search': 'dciSyncSearch',
  'POST /dci/registry/search': 'dciSearch',
  'POST /dci/registry/sync/txn/status': 'dciSyncTxnStatus',
  'POST /dci/registry/txn/status': 'dciTxnStatus',
  'POST /dci/registry/subscribe': 'dciSubscribe',
  'POST /dci/registry/unsubscribe': 'dciUnsubscribe',
  'PUT /api/v1/dci/senders/:client_id': 'putDciSender',
  'GET /api/v1/dci/senders/:client_id': 'getDciSender',
  'PUT /g2p/api/v1/registry/update_individual': 'g2pUpdateIndividuals',
  'PUT /g2p/api/v1/registry/update_group': 'g2pUpdateGroup',
  'GET /g2p/api/v1/registry/individual': 'g2pSearchIndividuals',
  'GET /g2p/api/v1/registry/group': 'g2pSearchGroups',
  'GET /api/v1/persons/search': 'searchPersons',
  'GET /auth/session': 'getSession',
  'POST /auth/login': 'login',
  'POST /auth/logout': 'logout',
  'POST /auth/password': 'changePassword',
  'POST /auth/totp/setup': 'setupTotp',
  'POST /auth/totp/confirm': 'confirmTotp',
  'GET /auth/oidc/login': 'startOidcLogin',
  'GET /auth/oidc/callback': 'completeOidcLogin',
  'POST /api/v1/users/:user_id/reset-password': 'resetUserPassword',
  'GET /api/v1/households/search': 'searchHouseholds',
  'POST /api/v1/clients/:client_id/rotate-secret': 'rotateClientSecret',
  'POST /api/v1/integrations/:integration_id/webhooks/:webhook_id/rotate-secret': 'rotateWebhookSecret',
  'POST /api/v1/households/:household_id/members': 'addHouseholdMember',
  'POST /api/v1/persons/:person_id/consents': 'captureConsent',
  'GET /api/v2/spp/Individual': 'v2SearchIndividuals',
  'GET /api/v2/spp/Group': 'v2SearchGroups',
  'GET /api/v2/spp/Program': 'v2SearchPrograms',
  'GET /api/v2/spp/ProgramMembership': 'v2SearchProgramMemberships',
  'GET /api/v2/spp/Vocabulary': 'v2ListVocabularies',
  'POST /api/v2/spp/Group/:identifier/$add-member': 'v2AddGroupMember',
  'POST /api/v2/spp/Group/:identifier/$remove-member': 'v2RemoveGroupMember',
};

/** Last segments that name a sub-collection even though they do not end in "s". */
const COLLECTIONS = new Set(['data', 'evidence', 'output']);

const isParam = (segment: string) => segment.startsWith(':');

function camel(words: string[]): string {
  return words
    .flatMap((w) => w.split(/[-_$.]+/))
    .filter(Boolean)
    .map((w, i) =>
      i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1),
    )
    .join('');
}

function singular(word: string): string {
  if (/ies$/.test(word)) return word.replace(/ies$/, 'y');
  if (/(ss|us)es$/.test(word)) return word.replace(/es$/, '');
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** `POST /api/v1/persons/:person_id/verify` → `verifyPerson`; `GET /api/v2/spp/Individual` → `v2ListIndividual`. */
export function operationIdOf(method: string, url: string): string {
  const fixed = OPERATION_IDS[`${method} ${url}`];
  if (fixed) return fixed;
  const [prefix, face] = FACE_PREFIXES.find(([p]) => url === p || url.startsWith(`${p}/`)) ?? ['', ''];
  const segments = url.slice(prefix.length).split('/').filter(Boolean);
  const last = segments.at(-1) ?? '';
  const isAction =
    method !== 'GET' &&
    segments.length > 1 &&
    !isParam(last) &&
    (last.startsWith('$') || !/s$/.test(last)) &&
    !COLLECTIONS.has(last);
  const body = isAction ? segments.slice(0, -1) : segments;
  const nounAt = body.flatMap((s, i) => (isParam(s) ? [] : [i]));
  const item = isParam(last);
  const words = nounAt.map((i, k) => {
    const next = body[i + 1];
    const lastNoun = k === nounAt.length - 1;
    if ((next && isParam(next)) || (lastNoun && (isAction || method === 'POST'))) return singular(body[i]);
    return body[i];
  });
  let verb: string;
  if (isAction) verb = last;
  else if (method === 'GET') verb = item ? 'get' : 'list';
  else if (method === 'POST') verb = item ? 'post' : 'create';
  else if (method === 'PUT') verb = 'replace';
  else if (method === 'PATCH') verb = 'update';
  else verb = method.toLowerCase();
  return camel([face, verb, ...words].filter(Boolean));
}

function rolesHolding(scopes: readonly string[], allowed?: readonly string[]): Role[] {
  return ROLES.filter(
    (role) =>
      (!allowed || allowed.includes(role)) &&
      scopes.every((s) => (ROLE_SCOPES[role] as readonly string[]).includes(s)),
  );
}

const code = (values: readonly string[]) => values.map((v) => `\`${v}\``).join(', ');

/** Who may call the route, in words, from its declaration. */
export function whoMayCall(auth: RouteAuth | undefined, url: string, method: string): string {
  if (!auth || auth.public) return '**Who may call:** anyone (no token).';
  const scopes = auth.scopes ?? [];
  const v2 = url.startsWith(`${V2_FACE_PREFIX}/`);
  // How to authenticate is in `security`; the words say what the caller must hold.
  let text = `**Who may call:** ${auth.scheme === 'basic' ? 'Basic or token' : 'token or session'}`;
  if (scopes.length > 0) {
    text += ` with ${code(scopes)}${v2 ? ` (V2: ${code(scopes.map((s) => v2ScopeFor(s, method)))})` : ''}`;
  }
  if (auth.roles) text += ` of role ${code(auth.roles)}`;
  // root and tenant_admin hold every scope (README, roles table): only the other roles are named.
  const roles = rolesHolding(scopes, auth.roles).filter((r) => r !== 'root' && r !== 'tenant_admin');
  if (auth.roles) return `${text}.`;
  return `${text}. ${roles.length > 0 ? `Roles: ${code(roles)} and admins.` : 'Admins only.'}`;
}

/** The route transform of @fastify/swagger: adds what the declaration implies, never changes validation. */
export function describeOperation(input: { schema: unknown; url: string; route: RouteOptions }): {
  schema: Record<string, unknown>;
  url: string;
} {
  const { route, url } = input;
  const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
  const schema = { ...((input.schema ?? {}) as Record<string, unknown>) };
  const auth = route.config?.auth;
  schema.operationId ??= operationIdOf(method, route.url);
  const who = whoMayCall(auth, route.url, method);
  schema.description = schema.description ? `${schema.description}\n\n${who}` : who;
  schema.security = securityOf(auth, route.url, method);
  return { schema, url };
}
