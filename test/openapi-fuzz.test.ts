import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson } from './helpers/registry.js';
import { createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

/**
 * Requests generated from /openapi.json for every operation, each one invalid on purpose: NUL
 * bytes, wrong types, values past their limits, deep nesting, oversized and malformed bodies,
 * wrong content types; plus unusual but valid unicode in query and path parameters (reads). No
 * answer may be a 5xx and no domain table may change. `$ref`s are resolved, so the test follows
 * the document however its schemas are named. Sampling (a fixed seed) keeps it to about a
 * thousand requests per database.
 */

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  maximum?: number;
  $ref?: string;
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
type Spec = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

/** Follows local `$ref`s (`#/components/schemas/X`), however deep the chain. */
function deref<T>(spec: Spec, value: T): T {
  let v = value as unknown as Schema;
  for (let hops = 0; v && typeof v === 'object' && typeof v.$ref === 'string' && hops < 32; hops++) {
    const path = v.$ref.replace(/^#\//, '').split('/');
    let target: unknown = spec;
    for (const part of path)
      target = (target as Record<string, unknown>)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    v = target as Schema;
  }
  return v as unknown as T;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const typeOf = (s: Schema): string | undefined => {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t) return t;
  if (s.properties) return 'object';
  return undefined;
};

/** A plausible value of a schema (the first branch of a union), bounded in depth. */
function sample(spec: Spec, schema: Schema | undefined, depth = 0): unknown {
  const s = deref(spec, schema ?? {});
  if (depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const union = s.anyOf ?? s.oneOf;
  if (union?.length)
    return sample(spec, union.find((x) => deref(spec, x).type !== 'null') ?? union[0], depth + 1);
  if (s.allOf?.length) return sample(spec, s.allOf[0], depth + 1);
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = sample(spec, s.properties?.[key], depth + 1);
      return out;
    }
    case 'array':
      return [sample(spec, s.items, depth + 1)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'string':
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'date') return '2000-01-01';
      if (s.format === 'email') return 'a@example.org';
      if (s.format === 'uri') return 'https://example.org/x';
      return 'x';
    default:
      return 'x';
  }
}

/** The value of each kind of invalid input for a parameter or field of this schema. */
function wrongTypeOf(spec: Spec, schema: Schema | undefined): unknown {
  const t = typeOf(deref(spec, schema ?? {}));
  if (t === 'string') return 12345;
  if (t === 'integer' || t === 'number') return 'not-a-number';
  if (t === 'boolean') return 'maybe';
  if (t === 'array') return { not: 'an array' };
  return ['not', 'an', 'object'];
}

const NUL = 'a\u0000b';
const UNICODE = ['Zoë 🙂', 'مرحبا', 'e\u0301\u0301\u0301', '\u202etxt', '\ufeffbom', '🏳️‍🌈'.repeat(20)];
const deepText = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

interface Case {
  label: string;
  request: InjectOptions;
  /** Reads may succeed; every other case is invalid and must change nothing. */
  read: boolean;
}

function casesFor(spec: Spec, method: string, path: string, op: Operation, pick: () => number): Case[] {
  const params = (op.parameters ?? []).map((p) => deref(spec, p));
  const pathParams = params.filter((p) => p.in === 'path');
  const query = params.filter((p) => p.in === 'query');
  const fill = (over: Record<string, string> = {}) =>
    path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      if (name in over) return encodeURIComponent(over[name]);
      const p = pathParams.find((x) => x.name === name);
      return encodeURIComponent(String(sample(spec, p?.schema)));
    });
  const url = (pathOver: Record<string, string> = {}, qs: Record<string, string> = {}) => {
    const q = new URLSearchParams(qs).toString();
    return `${fill(pathOver)}${q ? `?${q}` : ''}`;
  };
  const m = method.toUpperCase() as InjectOptions['method'];
  const out: Case[] = [];
  const some = <T>(xs: T[], n: number) => [...xs].sort(() => pick() - 0.5).slice(0, n);

  for (const p of some(pathParams, 2)) {
    out.push({
      label: `path ${p.name} NUL`,
      request: { method: m, url: url({ [p.name]: NUL }) },
      read: false,
    });
    out.push({
      label: `path ${p.name} long`,
      request: { method: m, url: url({ [p.name]: 'x'.repeat(600) }) },
      read: false,
    });
    if (m === 'GET') {
      const u = UNICODE[Math.floor(pick() * UNICODE.length)];
      out.push({
        label: `path ${p.name} unicode`,
        request: { method: m, url: url({ [p.name]: u }) },
        read: true,
      });
    }
  }
  for (const p of some(query, 3)) {
    out.push({
      label: `query ${p.name} NUL`,
      request: { method: m, url: url({}, { [p.name]: NUL }) },
      read: false,
    });
    out.push({
      label: `query ${p.name} oversize`,
      request: { method: m, url: url({}, { [p.name]: 'x'.repeat(5000) }) },
      read: m === 'GET',
    });
    const t = typeOf(deref(spec, p.schema ?? {}));
    if (t === 'integer' || t === 'number' || t === 'boolean') {
      out.push({
        label: `query ${p.name} type`,
        request: { method: m, url: url({}, { [p.name]: 'zz' }) },
        read: false,
      });
    }
    if (m === 'GET') {
      const u = UNICODE[Math.floor(pick() * UNICODE.length)];
      out.push({
        label: `query ${p.name} unicode`,
        request: { method: m, url: url({}, { [p.name]: u }) },
        read: true,
      });
    }
  }

  const content = op.requestBody?.content ?? {};
  const json = content['application/json']?.schema;
  if (json) {
    const schema = deref(spec, json);
    const base = sample(spec, schema);
    const body = (value: unknown, type = 'application/json'): InjectOptions => ({
      method: m,
      url: url(),
      headers: { 'content-type': type },
      payload: typeof value === 'string' ? value : JSON.stringify(value),
    });
    out.push({ label: 'body malformed', request: body('{"a":'), read: false });
    out.push({ label: 'body text/plain', request: body('hello', 'text/plain'), read: false });
    out.push({ label: 'body xml', request: body('<a/>', 'application/xml'), read: false });
    out.push({ label: 'body deep', request: body(deepText(5000)), read: false });
    if (typeOf(schema) !== 'array') out.push({ label: 'body array', request: body([base]), read: false });
    if (base && typeof base === 'object' && !Array.isArray(base)) {
      const props = deref(spec, schema).properties ?? {};
      const keys = Object.keys(props);
      for (const key of some(keys, 3)) {
        const field = deref(spec, props[key]);
        const t = typeOf(field);
        out.push({
          label: `body ${key} type`,
          request: body({ ...base, [key]: wrongTypeOf(spec, field) }),
          read: false,
        });
        if (t === 'string' || t === undefined) {
          out.push({ label: `body ${key} NUL`, request: body({ ...base, [key]: NUL }), read: false });
        }
        if (t === 'string' && field.maxLength !== undefined) {
          out.push({
            label: `body ${key} over maxLength`,
            request: body({ ...base, [key]: 'x'.repeat(field.maxLength + 1) }),
            read: false,
          });
        }
        const text = JSON.stringify({ ...base, [key]: '__DEEP__' }).replace('"__DEEP__"', deepText(5000));
        out.push({ label: `body ${key} deep`, request: body(text), read: false });
      }
      out.push({
        label: 'body unknown field NUL key',
        request: body({ ...base, 'k\u0000': 1 }),
        read: false,
      });
    }
  } else if (Object.keys(content).length === 0 && ['POST', 'PUT', 'PATCH'].includes(String(m))) {
    out.push({
      label: 'unexpected body deep',
      request: {
        method: m,
        url: url(),
        headers: { 'content-type': 'application/json' },
        payload: deepText(5000),
      },
      read: false,
    });
  }
  return out;
}

/** Tables whose change is expected from refusals: logs, counters, caches. Everything else is data. */
const LOG_TABLES = new Set([
  'audit_events',
  'audit_heads',
  'schema_migrations',
  'rate_limit_counters',
  'idempotency_keys',
  'integration_exchanges',
  'integration_exchange_records',
  'dci_message_ids',
  'dci_transactions',
  'jobs',
]);

async function fingerprint(db: Database): Promise<Map<string, string>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  const out = new Map<string, string>();
  for (const { name } of tables) {
    if (LOG_TABLES.has(name)) continue;
    const { rows } = await db.query<{ n: number; x: string | null }>(
      `SELECT count(*)::int AS n, max(xmin::text::bigint)::text AS x FROM "${name}"`,
    );
    out.set(name, `${rows[0].n}/${rows[0].x}`);
  }
  return out;
}

describe('OpenAPI-driven fuzzing: no 5xx and no write from any invalid input', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let spec: Spec;
  let token: string;
  let personId: string;

  beforeAll(async () => {
    t = await createTestApp();
    tenant = await createTestTenant(t);
    token = await rootToken(t.app);
    personId = (await createPerson(t.app, tenant.admin.token)).person_id;
    spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as Spec;
  });
  afterAll(() => t?.close());

  it('covers every operation of the document', async () => {
    expect(personId).toBeTruthy();
    const pick = rng(20);
    const failures: string[] = [];
    let sent = 0;
    let operations = 0;
    const statuses = new Map<number, number>();
    const before = await fingerprint(t.db);
    for (const [path, item] of Object.entries(spec.paths)) {
      if (path.startsWith('/docs')) continue;
      for (const [method, raw] of Object.entries(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        operations++;
        const op = deref(spec, raw);
        for (const c of casesFor(spec, method, path, op, pick)) {
          const headers = {
            authorization: `Bearer ${token}`,
            'x-tenant-id': tenant.tenantId,
            ...((c.request.headers as Record<string, string>) ?? {}),
          };
          const res = await t.app.inject({ ...c.request, headers });
          sent++;
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500) {
            failures.push(
              `${method.toUpperCase()} ${path} [${c.label}] → ${res.statusCode} ${res.body.slice(0, 200)}`,
            );
          }
        }
      }
    }
    const after = await fingerprint(t.db);
    const changed = [...after].filter(([name, f]) => before.get(name) !== f).map(([name]) => name);
    expect(operations).toBeGreaterThan(100);
    expect(sent).toBeGreaterThan(operations * 3);
    // The requests reach validation (not only auth refusals): most answers are 4xx about the input.
    const histogram = JSON.stringify(Object.fromEntries(statuses));
    expect(statuses.get(422) ?? 0, histogram).toBeGreaterThan(operations);
    expect(statuses.get(415) ?? 0, histogram).toBeGreaterThan(50);
    expect(statuses.get(414) ?? 0, histogram).toBeGreaterThan(50);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(changed, 'tables written by invalid requests').toEqual([]);
  }, 600_000);
});
