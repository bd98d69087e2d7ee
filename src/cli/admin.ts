import { parseArgs } from 'node:util';
import { systemActor } from '../auth/principal.js';
import { loadConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { isUuid } from '../lib/ids.js';
import { createServices, type Services } from '../services.js';
import { findTenantByCode } from '../tenancy/repo.js';

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
  return withServices(async (s) => {
    print(await s.tenants.create(systemActor(null, 'cli'), { code: values.code!, name: values.name! }));
    return 0;
  });
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
  return withServices(async (s, db) => {
    const tenantId = values.tenant ? await resolveTenantId(db, values.tenant) : undefined;
    const actor = systemActor(tenantId ?? null, 'cli');
    let verticalIds: string[] | undefined;
    if (values.verticals && tenantId) {
      const all = await s.verticals.list(actor);
      verticalIds = list(values.verticals)!.map((code) => {
        const v = all.find((x) => x.code === code);
        if (!v) throw new Error(`no vertical ${code} in the tenant`);
        return v.vertical_id;
      });
    }
    const created = await s.clients.create(actor, {
      name: values.name!,
      roles: list(values.roles)!,
      ...(tenantId ? { tenant_id: tenantId } : {}),
      ...(values.scopes ? { scopes: list(values.scopes) } : {}),
      ...(verticalIds ? { vertical_ids: verticalIds } : {}),
      ...(values['rate-limit'] ? { rate_limit_per_minute: Number(values['rate-limit']) } : {}),
    });
    print(created);
    process.stderr.write('The client_secret above is shown only once: store it now.\n');
    return 0;
  });
}

export async function keysCommand(args: string[]): Promise<number> {
  if (args[0] !== 'rotate') {
    process.stderr.write('usage: hearth keys rotate\n');
    return 2;
  }
  return withServices(async (s) => {
    print(await s.signingKeys.rotate(systemActor(null, 'cli')));
    return 0;
  });
}
