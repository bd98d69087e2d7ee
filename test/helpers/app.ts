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
  const redis = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {};
  return loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HEARTH_WORKERS: 'false',
    HEARTH_RATE_LIMIT_PER_MINUTE: '100000',
    HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE: '100000',
    ...redis,
    ...env,
  });
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
  await app.hearth.services.clients.ensureRootClient(TEST_ROOT.id, TEST_ROOT.secret);
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

export const TEST_ROOT = { id: 'test-root', secret: 'test-root-secret-0123456789' };
