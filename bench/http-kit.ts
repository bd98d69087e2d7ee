// Shared by the in-process bench scripts (exchange-pull, stats): a fresh database and the API over HTTP.
import pg from 'pg';
import type { Database } from '../src/db/database.js';
import { openPglite, openPostgres } from '../src/db/open.js';

/**
 * An in-memory PGlite, or a fresh database `name` on BENCH_DATABASE_URL's server (BENCH_DB_NAME
 * overrides the name, so that people measuring on one server do not drop each other's database).
 */
export async function openBenchDb(defaultName: string): Promise<{ db: Database; url: string | null }> {
  const admin = process.env.BENCH_DATABASE_URL;
  const name = process.env.BENCH_DB_NAME ?? defaultName;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`BENCH_DB_NAME: not a plain identifier: ${name}`);
  if (!admin) return { db: await openPglite('memory://'), url: null };
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { db: await openPostgres(u.toString(), 10), url: u.toString() };
}

export async function api<T = Record<string, string>>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export async function token(base: string, id: string, secret: string): Promise<string> {
  const t = await api(base, null, 'POST', '/oauth/token', {
    grant_type: 'client_credentials',
    client_id: id,
    client_secret: secret,
  });
  return t.access_token as string;
}
