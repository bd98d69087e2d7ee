import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { openTestDatabase } from './helpers/app.js';

/**
 * Readiness for distribution by tenant (Citus), docs/decisions/0092: a table with a tenant_id
 * column is distributed by it, so each of its unique keys and foreign keys must include tenant_id
 * (a foreign key may also point at a global reference table). The exceptions are listed here
 * with their reason; any new table that breaks the rule fails this walk of the catalogue.
 */
const GLOBAL_WITH_TENANT_COLUMN: Record<string, string> = {
  api_clients:
    'reference table: a client is found by client_id before any tenant is known; ROOT clients have none',
  jobs: 'local table on the coordinator: the queue of background work, some of it for no tenant',
  users:
    'reference table: a person signs in by username (or OIDC subject) before any tenant is known; ROOT users have none',
  user_sessions: 'reference table: a session is found by its token hash before any tenant is known',
};
/** Tables distributed by another column that holds the tenant. */
const DISTRIBUTED_BY: Record<string, string> = {
  audit_events: 'tenant_key',
  audit_heads: 'tenant_key',
};
/** Tables without tenant data: reference or coordinator-local tables. */
const GLOBAL_TABLES = [
  'audit_heads',
  'cache_changes',
  'deployment',
  'idempotency_keys',
  'integration_templates',
  'oidc_login_states',
  'rate_limit_counters',
  'schema_migrations',
  'signing_keys',
  'tenants',
];

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

interface Key {
  kind: string;
  table: string;
  name: string;
  columns: string[];
  references: string | null;
}

async function keysOfTables(): Promise<Key[]> {
  const { rows } = await db.query<Key>(
    `SELECT 'unique' AS kind, t.relname AS table, i.relname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k) AS columns,
            NULL AS references
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       JOIN pg_index x ON x.indrelid = t.oid AND x.indisunique
       JOIN pg_class i ON i.oid = x.indexrelid
      WHERE t.relkind IN ('r', 'p')
     UNION ALL
     SELECT 'foreign key', t.relname, con.conname,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k),
            r.relname
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
       JOIN pg_class r ON r.oid = con.confrelid
      WHERE t.relkind IN ('r', 'p')`,
  );
  return rows;
}

async function tablesWithTenantId(): Promise<Set<string>> {
  const { rows } = await db.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind IN ('r', 'p')
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`,
  );
  return new Set(rows.map((r) => r.table));
}

describe('ready for distribution by tenant', () => {
  it('every unique key and foreign key of a tenant table includes its tenant column', async () => {
    const tenantTables = await tablesWithTenantId();
    const reference = new Set([...GLOBAL_TABLES, ...Object.keys(GLOBAL_WITH_TENANT_COLUMN)]);
    const broken: string[] = [];
    for (const key of await keysOfTables()) {
      const column = DISTRIBUTED_BY[key.table] ?? (tenantTables.has(key.table) ? 'tenant_id' : null);
      if (column === null || key.table in GLOBAL_WITH_TENANT_COLUMN) continue;
      if (key.columns.includes(column)) continue;
      if (key.kind === 'foreign key' && key.references && reference.has(key.references)) continue;
      broken.push(`${key.kind} ${key.name} on ${key.table} (${key.columns.join(', ')})`);
    }
    expect(broken).toEqual([]);
  });

  it('every table is either distributed by tenant or a documented global table', async () => {
    const tenantTables = await tablesWithTenantId();
    const { rows } = await db.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    const undocumented = rows
      .map((r) => r.table)
      .filter((t) => !tenantTables.has(t) && !GLOBAL_TABLES.includes(t) && !(t in DISTRIBUTED_BY));
    expect(undocumented).toEqual([]);
  });

  it('a global table never holds a foreign key into a tenant table', async () => {
    const tenantTables = await tablesWithTenantId();
    const wrong = (await keysOfTables()).filter(
      (k) =>
        k.kind === 'foreign key' &&
        GLOBAL_TABLES.includes(k.table) &&
        k.references !== null &&
        tenantTables.has(k.references) &&
        !(k.references in GLOBAL_WITH_TENANT_COLUMN),
    );
    expect(wrong.map((k) => `${k.table}.${k.name}`)).toEqual([]);
  });

  it('a person guid is unique within its tenant', async () => {
    const { rows } = await db.query<{ def: string }>(
      `SELECT pg_get_indexdef(x.indexrelid) AS def FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = 'persons' AND x.indisunique`,
    );
    expect(rows.map((r) => r.def).filter((d) => d.includes('system_guid'))).toEqual([
      expect.stringContaining('(tenant_id, system_guid)'),
    ]);
  });
});
