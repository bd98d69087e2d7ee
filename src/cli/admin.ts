import { parseArgs } from 'node:util';
import { systemActor } from '../auth/principal.js';
import { loadConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { isUuid } from '../lib/ids.js';
import { createServices, type Services } from '../services.js';
import { findTenantByCode } from '../tenancy/repo.js';
import { type RemoteApi, remoteTenantId, runningServerApi } from './remote.js';

/** Opens the configured database with every service, runs `fn`, and closes everything. */
export async function withServices<T>(fn: (services: Services, db: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const services = await createServices(config, db);
    try {
      return await fn(services, db);
    } finally {
      await services.close();
    }
  } finally {
    await db.close();
  }
}

export async function resolveTenantId(db: Database, ref: string): Promise<string> {
  if (isUuid(ref)) return ref.toLowerCase();
  const tenant = await findTenantByCode(db, ref);
  if (!tenant) throw new Error(`no tenant with code or id "${ref}"`);
  return tenant.tenant_id;
}

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

export async function tenantCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { code: { type: 'string' }, name: { type: 'string' } },
  });
  if (positionals[0] !== 'create' || !values.code || !values.name) {
    process.stderr.write('usage: hearth tenant create --code CODE --name NAME\n');
    return 2;
  }
  const input = { code: values.code, name: values.name };
  const api = await runningServerApi(loadConfig());
  if (api) {
    print(await api.call('POST', '/api/v1/tenants', input));
    return 0;
  }
  return withServices(async (s) => {
    print(await s.tenants.create(systemActor(null, 'cli'), input));
    return 0;
  });
}

interface ClientArgs {
  name: string;
  roles: string[];
  tenant?: string;
  scopes?: string[];
  verticals?: string[];
  rateLimit?: number;
}

function clientBody(a: ClientArgs, tenantId: string | undefined, verticalIds: string[] | undefined) {
  return {
    name: a.name,
    roles: a.roles,
    ...(tenantId ? { tenant_id: tenantId } : {}),
    ...(a.scopes ? { scopes: a.scopes } : {}),
    ...(verticalIds ? { vertical_ids: verticalIds } : {}),
    ...(a.rateLimit !== undefined ? { rate_limit_per_minute: a.rateLimit } : {}),
  };
}

function verticalIdsOf(codes: string[], all: { code: string; vertical_id: string }[]): string[] {
  return codes.map((code) => {
    const v = all.find((x) => x.code === code);
    if (!v) throw new Error(`no vertical ${code} in the tenant`);
    return v.vertical_id;
  });
}

/** `hearth client create` through a running server's API. */
async function createClientRemotely(api: RemoteApi, a: ClientArgs): Promise<unknown> {
  const tenantId = a.tenant ? await remoteTenantId(api, a.tenant) : undefined;
  let verticalIds: string[] | undefined;
  if (a.verticals && tenantId) {
    const page = await api.call<{ data: { code: string; vertical_id: string }[] }>(
      'GET',
      '/api/v1/verticals',
      undefined,
      tenantId,
    );
    verticalIds = verticalIdsOf(a.verticals, page.data);
  }
  return api.call('POST', '/api/v1/clients', clientBody(a, tenantId, verticalIds), tenantId);
}

export async function clientCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      scopes: { type: 'string' },
      verticals: { type: 'string' },
      'rate-limit': { type: 'string' },
    },
  });
  if (positionals[0] !== 'create' || !values.name || !values.roles) {
    process.stderr.write(
      'usage: hearth client create --name NAME --roles ROLE[,ROLE] [--tenant CODE|ID] [--scopes S,…] [--verticals CODE,…] [--rate-limit N]\n',
    );
    return 2;
  }
  const a: ClientArgs = {
    name: values.name,
    roles: list(values.roles)!,
    tenant: values.tenant,
    scopes: list(values.scopes),
    verticals: list(values.verticals),
    rateLimit: values['rate-limit'] ? Number(values['rate-limit']) : undefined,
  };
  const api = await runningServerApi(loadConfig());
  const created = api
    ? await createClientRemotely(api, a)
    : await withServices(async (s, db) => {
        const tenantId = a.tenant ? await resolveTenantId(db, a.tenant) : undefined;
        const actor = systemActor(tenantId ?? null, 'cli');
        const verticalIds =
          a.verticals && tenantId ? verticalIdsOf(a.verticals, await s.verticals.list(actor)) : undefined;
        return s.clients.create(
          actor,
          clientBody(a, tenantId, verticalIds) as Parameters<typeof s.clients.create>[1],
        );
      });
  print(created);
  process.stderr.write('The client_secret above is shown only once: store it now.\n');
  return 0;
}

export async function keysCommand(args: string[]): Promise<number> {
  if (args[0] !== 'rotate') {
    process.stderr.write('usage: hearth keys rotate\n');
    return 2;
  }
  const api = await runningServerApi(loadConfig());
  if (api) {
    print(await api.call('POST', '/api/v1/signing-keys/rotate'));
    return 0;
  }
  return withServices(async (s) => {
    print(await s.signingKeys.rotate(systemActor(null, 'cli')));
    return 0;
  });
}
