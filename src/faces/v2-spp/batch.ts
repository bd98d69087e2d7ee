import { STATUS_CODES } from 'node:http';
import { type Actor, hasScope } from '../../auth/principal.js';
import type { Scope } from '../../auth/scopes.js';
import { AppError } from '../../http/errors.js';
import { buildProblem, toAppError } from '../../http/problem.js';
import { addMember, createGroup, readGroup, removeMember, updateGroup } from './group-ops.js';
import { V2_BASE } from './identifiers.js';
import { createIndividual, readIndividual, updateIndividual } from './individual-ops.js';
import { createMembership, readMembership, readProgram } from './program-ops.js';
import {
  AddMemberIn,
  type BundleIn,
  type BundleOut,
  GroupIn,
  GroupPatchIn,
  IndividualIn,
  IndividualPatchIn,
  ProgramMembershipIn,
  RemoveMemberIn,
} from './schemas.js';
import { v2ScopeOf } from './scopes.js';
import { type Outcome, v2Error, validate } from './support.js';
import type { Domain, UnitOfWork } from './unit-of-work.js';

type Entry = BundleIn['entry'][number];

/** A bundle entry is refused like the route it stands for would be: same scopes, same checks. */
function requireScope(actor: Actor, scope: Scope, entry: { method: string; type: string; id: string }): void {
  if (!hasScope(actor.principal, scope)) {
    // Named as a V2 scope, like the route's own refusal.
    const v2 = v2ScopeOf(scope, entry.method, entry.type, !entry.id);
    throw new AppError('ERR_SEC_FORBIDDEN', `missing scope ${v2}`, { extra: { required_scope: v2 } });
  }
}

const unsupported = (what: string) =>
  new AppError('ERR_BAD_REQUEST', `unsupported bundle entry: ${what}`, {
    errors: [{ field: 'request', message: 'see GET /api/v2/spp/metadata for the operations a bundle takes' }],
  });

/** Routes one entry to the operation its method and URL name, through the same code as the HTTP routes. */
async function runEntry(d: Domain, actor: Actor, e: Entry, i: number): Promise<Outcome> {
  const field = `entry[${i}].resource`;
  let url = e.request.url.startsWith(`${V2_BASE}/`) ? e.request.url.slice(V2_BASE.length + 1) : e.request.url;
  url = url.replace(/^\/+/, '');
  const [path, queryString = ''] = url.split('?', 2);
  const query = new URLSearchParams(queryString);
  const slash = path.indexOf('/');
  const type = slash < 0 ? path : path.slice(0, slash);
  let rest = slash < 0 ? '' : path.slice(slash + 1);
  let operation = '';
  const op = /\/(\$add-member|\$remove-member)$/.exec(rest);
  if (op) {
    operation = op[1];
    rest = rest.slice(0, -op[0].length);
  }
  let id = rest;
  try {
    if (id.includes('%')) id = decodeURIComponent(id);
  } catch {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'request.url: not a valid URL-encoded identifier', {
      status: 400,
    });
  }
  const method = e.request.method;
  const body = e.resource;
  if (method === 'DELETE') {
    throw new AppError(
      'ERR_METHOD_NOT_ALLOWED',
      'Hearth archives records and never deletes them; archive with the native API',
    );
  }
  const key = `${method} ${type}${id ? '/{id}' : ''}${operation ? `/${operation}` : ''}`;
  const entryOf = { method, type, id: id ?? '' };
  switch (key) {
    case 'POST Individual':
      requireScope(actor, 'persons:write', entryOf);
      return createIndividual(d, actor, validate(IndividualIn, body, field));
    case 'GET Individual/{id}':
      requireScope(actor, 'persons:read', entryOf);
      return readIndividual(d, actor, id);
    case 'PUT Individual/{id}':
      requireScope(actor, 'persons:write', entryOf);
      return updateIndividual(d, actor, id, validate(IndividualIn, body, field), 'put', e.request.ifMatch);
    case 'PATCH Individual/{id}':
      requireScope(actor, 'persons:write', entryOf);
      return updateIndividual(
        d,
        actor,
        id,
        validate(IndividualPatchIn, body, field),
        'patch',
        e.request.ifMatch,
      );
    case 'POST Group':
      requireScope(actor, 'households:write', entryOf);
      return createGroup(d, actor, validate(GroupIn, body, field));
    case 'GET Group/{id}':
      requireScope(actor, 'households:read', entryOf);
      return readGroup(d, actor, id);
    case 'PUT Group/{id}':
      requireScope(actor, 'households:write', entryOf);
      return updateGroup(d, actor, id, validate(GroupIn, body, field), 'put', e.request.ifMatch);
    case 'PATCH Group/{id}':
      requireScope(actor, 'households:write', entryOf);
      return updateGroup(d, actor, id, validate(GroupPatchIn, body, field), 'patch', e.request.ifMatch);
    case 'POST Group/{id}/$add-member':
      requireScope(actor, 'households:write', entryOf);
      return addMember(d, actor, id, validate(AddMemberIn, body, field));
    case 'POST Group/{id}/$remove-member':
      requireScope(actor, 'households:write', entryOf);
      return removeMember(d, actor, id, validate(RemoveMemberIn, body, field));
    case 'GET Program/{id}':
      requireScope(actor, 'programs:read', entryOf);
      return readProgram(d, actor, id);
    case 'POST ProgramMembership':
      requireScope(actor, 'programs:write', entryOf);
      return createMembership(d, actor, validate(ProgramMembershipIn, body, field));
    case 'GET ProgramMembership/{id}':
      requireScope(actor, 'programs:read', entryOf);
      return readMembership(d, actor, id, query.get('program') ?? undefined);
    default:
      throw unsupported(`${method} ${e.request.url}`);
  }
}

const PLACEHOLDER = /^urn:uuid:[0-9A-Za-z-]{1,64}$/;

/** Replaces every string that is a resolved placeholder (`urn:uuid:…`) by its reference. */
function resolvePlaceholders(value: unknown, refs: Map<string, string>): unknown {
  if (typeof value === 'string') return refs.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, refs));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePlaceholders(v, refs)]));
  }
  return value;
}

function resolveUrl(url: string, refs: Map<string, string>): string {
  let out = url;
  for (const [placeholder, ref] of refs) {
    const type = ref.slice(0, ref.indexOf('/'));
    out = out.replace(`${type}/${placeholder}`, ref).replace(placeholder, ref);
  }
  return out;
}

/** The reference a created resource's placeholder stands for, from its Location. */
function referenceOfLocation(location: string): string {
  const path = location.slice(V2_BASE.length + 1);
  const slash = path.indexOf('/');
  return `${path.slice(0, slash)}/${decodeURIComponent(path.slice(slash + 1))}`;
}

const statusLine = (status: number) => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

function entryOut(e: Entry, o: Outcome) {
  return {
    ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}),
    response: {
      status: statusLine(o.status),
      ...(o.location ? { location: o.location } : {}),
      ...(o.etag ? { etag: o.etag } : {}),
    },
    resource: o.resource as Record<string, unknown>,
  };
}

/**
 * `POST /$batch`. A transaction runs every entry in one database transaction: all commit, or on
 * the first failure nothing is written and the answer is a 422 naming the entry. A batch runs
 * each entry on its own and reports each outcome. Unlike OpenSPP, every entry goes through the
 * same scopes, consent decision and If-Match check as the route it stands for.
 */
export async function processBundle(
  uow: UnitOfWork,
  actor: Actor,
  bundle: BundleIn,
  correlationId: string,
): Promise<BundleOut> {
  const refs = new Map<string, string>();
  const prepare = (e: Entry): Entry => ({
    ...e,
    request: { ...e.request, url: resolveUrl(e.request.url, refs) },
    ...(e.resource ? { resource: resolvePlaceholders(e.resource, refs) as Record<string, unknown> } : {}),
  });
  const remember = (e: Entry, o: Outcome) => {
    if (e.fullUrl && PLACEHOLDER.test(e.fullUrl) && o.location)
      refs.set(e.fullUrl, referenceOfLocation(o.location));
  };

  if (bundle.type === 'transaction') {
    const entries = await uow(actor, async (d) => {
      const out = [];
      for (const [i, raw] of bundle.entry.entries()) {
        const e = prepare(raw);
        try {
          const o = await runEntry(d, actor, e, i);
          remember(e, o);
          out.push(entryOut(e, o));
        } catch (err) {
          const { error: raw, internal } = toAppError(err);
          if (internal) throw err;
          const error = v2Error(raw);
          throw new AppError(
            'ERR_VAL_RULE_VIOLATION',
            `entry[${i}] failed, nothing was written: ${error.message}`,
            {
              status: 422,
              errors: (error.errors?.length ? error.errors : [{ field: '', message: error.message }]).map(
                (fe) => ({
                  ...fe,
                  field: fe.field ? `entry[${i}].${fe.field}` : `entry[${i}]`,
                }),
              ),
              extra: { entry: i, entry_status: error.status, entry_code: error.code },
            },
          );
        }
      }
      return out;
    });
    return { resourceType: 'Bundle', type: 'transaction-response', entry: entries };
  }

  const entries = [];
  for (const [i, raw] of bundle.entry.entries()) {
    const e = prepare(raw);
    try {
      const o = await uow(actor, (d) => runEntry(d, actor, e, i));
      remember(e, o);
      entries.push(entryOut(e, o));
    } catch (err) {
      const { error: raw, internal } = toAppError(err);
      if (internal) throw err;
      const error = v2Error(raw);
      entries.push({
        ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}),
        response: {
          status: statusLine(error.status),
          outcome: buildProblem(error, correlationId) as unknown as Record<string, unknown>,
        },
      });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: entries };
}
