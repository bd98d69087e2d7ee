import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { openPglite, openPostgres } from '../../src/db/open.js';

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  config: Config;
  close(): Promise<void>;
}

/** A migrated database for one test file: the run's scratch PostgreSQL, or a PGlite loaded from the snapshot. */
export async function openTestDatabase(): Promise<Database> {
  const url = inject('testDatabaseUrl');
  if (url) return openPostgres(url, 4);
  const snapshot = inject('pgliteSnapshotPath');
  if (!snapshot) throw new Error('global setup did not provide a database');
  return openPglite('memory://', new Blob([fs.readFileSync(snapshot)]));
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', HEARTH_WORKERS: 'false', ...env });
}

export async function createTestApp(
  env: Record<string, string> = {},
  extend?: (app: FastifyInstance) => void | Promise<void>,
): Promise<TestApp> {
  const db = await openTestDatabase();
  const config = testConfig(env);
  const app = await buildApp({ config, db });
  if (extend) await extend(app);
  await app.ready();
  return {
    app,
    db,
    config,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

export const isPostgres = () => inject('testDatabaseUrl') !== null;
