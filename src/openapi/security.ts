import { SCOPES } from '../auth/scopes.js';
import { v2ScopeNames } from '../faces/v2-spp/scopes.js';
import type { RouteAuth } from '../http/route-auth.js';

export const V2_FACE_PREFIX = '/api/v2/spp';

/** What each scope allows, shown in the OAuth2 scheme (a scope without a line is still listed). */
const SCOPE_DESCRIPTIONS: Record<string, string> = {
  'persons:read': 'read persons (masked as consent and sensitive:read require)',
  'persons:write': 'register, update, verify, archive and import persons',
  'households:read': 'read and search households and their members',
  'households:write': 'create and change households and memberships',
  'relationships:write': 'record and end family relationships',
  'consents:read': 'read consents of persons',
  'consents:write': 'capture, withdraw, renew and expire consents; upload evidence',
  'consents:verify': 'verify or reject pending consents',
  'programs:read': 'read programmes and memberships',
  'programs:write': 'create programmes and enrol beneficiaries',
  'integrations:read': 'read integrations, contracts and exchange logs',
  'integrations:manage': 'register and change integrations, contracts and DCI senders',
  'integrations:review': 'review requested integrations',
  'integrations:approve': 'approve reviewed integrations',
  'exchange:push': 'push records under a contract (an integration’s own client)',
  'exchange:pull': 'pull consented persons under a contract (an integration’s own client)',
  'webhooks:manage': 'manage an integration’s webhooks and their delivery log',
  'audit:read': 'read and verify the audit chain',
  'vocabulary:read': 'read vocabularies, geo areas and extension schemas',
  'dci:search': 'search, subscribe and ask transaction status on the DCI face',
  'sensitive:read': 'see sensitive fields unmasked and search by radius',
};

function scopeMap(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((s) => [s, SCOPE_DESCRIPTIONS[s] ?? `Hearth scope ${s}`]));
}

/** The security schemes of the document; token URLs are absolute (the public URL). */
export function securitySchemes(publicUrl: string): Record<string, unknown> {
  return {
    oauth2: {
      type: 'oauth2',
      description:
        'OAuth 2.0 client credentials (RFC 6749 §4.4): an API client sends its id and secret to ' +
        '`POST /oauth/token` and gets an EdDSA-signed JWT, then sends `Authorization: Bearer <token>`. ' +
        'The token carries the scopes of the client’s roles (or fewer, when asked with `scope`).',
      flows: { clientCredentials: { tokenUrl: `${publicUrl}/oauth/token`, scopes: scopeMap(SCOPES) } },
    },
    openSppV2: {
      type: 'oauth2',
      description:
        'The OpenSPP API V2 token endpoint: the same API clients, with V2 scope names ' +
        '(`individual:read`, `group:create`…) mapped to Hearth scopes (docs/decisions/0054).',
      flows: {
        clientCredentials: {
          tokenUrl: `${publicUrl}${V2_FACE_PREFIX}/oauth/token`,
          scopes: scopeMap(v2ScopeNames(SCOPES)),
        },
      },
    },
    dciOAuth2: {
      type: 'oauth2',
      description: 'The DCI token API (form or JSON body); the token is a Hearth token holding `dci:search`.',
      flows: {
        clientCredentials: {
          tokenUrl: `${publicUrl}/dci/oauth2/client/token`,
          scopes: scopeMap(['dci:search']),
        },
      },
    },
    basicAuth: {
      type: 'http',
      scheme: 'basic',
      description: 'API client id and secret (G2P Registry face only).',
    },
    sessionCookie: {
      type: 'apiKey',
      in: 'cookie',
      name: 'hearth_session',
      description:
        'Browser session of a signed-in person (POST /auth/login). Requests other than GET/HEAD/OPTIONS must also send the session’s csrf_token as X-CSRF-Token.',
    },
  };
}

/** The V2 scope name a route of the V2 face asks for, by its method. */
export function v2ScopeFor(scope: string, method: string): string {
  const names = v2ScopeNames([scope]);
  if (method === 'GET') return names[0];
  if (method === 'POST') return names.find((n) => n.endsWith(':create')) ?? names[0];
  return names.find((n) => n.endsWith(':update')) ?? names[0];
}

/** The security requirement of a route, from its own declaration (alternatives: any one suffices). */
export function securityOf(
  auth: RouteAuth | undefined,
  url: string,
  method: string,
): Record<string, string[]>[] {
  if (!auth || auth.public) return [];
  const scopes = [...(auth.scopes ?? [])];
  // A signed-in person's session passes the same scope checks as a token (its roles' scopes).
  const session = { sessionCookie: [] };
  if (auth.scheme === 'basic') return [{ basicAuth: [] }, { oauth2: scopes }, session];
  if (url.startsWith(`${V2_FACE_PREFIX}/`)) {
    return [{ openSppV2: scopes.map((s) => v2ScopeFor(s, method)) }, { oauth2: scopes }, session];
  }
  if (url.startsWith('/dci/')) return [{ dciOAuth2: scopes }, { oauth2: scopes }, session];
  return [{ oauth2: scopes }, session];
}
