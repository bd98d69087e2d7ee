import { isScope, type Scope } from '../../auth/scopes.js';

/**
 * OpenSPP API V2 scope names (`resource:action`) and the Hearth scopes they stand for. Reads and
 * searches share a Hearth read scope, on purpose: OpenSPP itself gates both `GET /Individual/{id}`
 * and `GET /Individual` (and Group's) on `:read`, so its `individual:read` clients search, and
 * Hearth has no scope narrower than `persons:read` (docs/decisions/0054). Creates and updates share
 * the write scope; `:all` is both.
 */
const RESOURCES: Record<string, { read: Scope; write: Scope | null }> = {
  individual: { read: 'persons:read', write: 'persons:write' },
  group: { read: 'households:read', write: 'households:write' },
  program: { read: 'programs:read', write: null },
  program_membership: { read: 'programs:read', write: 'programs:write' },
  vocabulary: { read: 'vocabulary:read', write: null },
};

/** Hearth scopes of a requested scope name: a V2 name, or a Hearth scope itself; null when unknown. */
export function mapV2Scope(name: string): Scope[] | null {
  if (isScope(name)) return [name];
  const [resource, action, ...rest] = name.split(':');
  const r = RESOURCES[resource];
  if (!r || rest.length > 0) return null;
  if (action === 'read' || action === 'search') return [r.read];
  if ((action === 'create' || action === 'update') && r.write) return [r.write];
  if (action === 'all') return r.write ? [r.read, r.write] : [r.read];
  return null;
}

/** The V2 names a set of Hearth scopes grants (Hearth scopes without a V2 name are kept as they are). */
export function v2ScopeNames(scopes: readonly string[]): string[] {
  const out: string[] = [];
  const held = new Set(scopes);
  for (const [resource, r] of Object.entries(RESOURCES)) {
    if (held.has(r.read)) out.push(`${resource}:read`, `${resource}:search`);
    if (r.write && held.has(r.write)) out.push(`${resource}:create`, `${resource}:update`);
  }
  const covered = new Set(Object.values(RESOURCES).flatMap((r) => [r.read, r.write]));
  for (const s of scopes) if (!covered.has(s as Scope)) out.push(s);
  return out;
}

/** The V2 resource name (`individual`…) of a resource type as it appears in paths and bundle urls. */
const RESOURCE_OF_TYPE: Record<string, string> = {
  Individual: 'individual',
  Group: 'group',
  Program: 'program',
  ProgramMembership: 'program_membership',
  Vocabulary: 'vocabulary',
};

/**
 * The V2 scope an operation needs, for telling a client what it lacks in the names it asked for
 * (`individual:read`, `group:update`): the resource from the path, the action from the method —
 * GET reads, POST on the collection creates, anything else updates (`$add-member` is an update of
 * the Group, as in OpenSPP). A Hearth scope with no V2 name is returned as it is.
 */
export function v2ScopeOf(
  scope: string,
  method: string,
  type: string | undefined,
  collection: boolean,
): string {
  const resource = type ? RESOURCE_OF_TYPE[type] : undefined;
  const r = resource ? RESOURCES[resource] : undefined;
  if (resource && r && (r.read === scope || r.write === scope)) {
    if (method === 'GET' || method === 'HEAD' || r.write !== scope) return `${resource}:read`;
    return `${resource}:${method === 'POST' && collection ? 'create' : 'update'}`;
  }
  return v2ScopeNames([scope])[0] ?? scope;
}

/** {@link v2ScopeOf} for a route of the face, from its URL pattern (`/api/v2/spp/Group/:identifier`). */
export function v2ScopeOfRoute(scope: string, method: string, routeUrl: string | undefined): string {
  const segments = (routeUrl ?? '')
    .replace(/^\/api\/v2\/spp\/?/, '')
    .split('/')
    .filter(Boolean);
  return v2ScopeOf(scope, method, segments[0], segments.length === 1);
}
