import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { firstBootRootClient } from './clients/first-boot.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { isMigrated, migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { PgliteDatabase } from './db/pglite-database.js';
import { firstBootRootUser } from './users/first-boot.js';

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** false (`hearth serve --no-migrate`): refuse to start on a database `hearth migrate` has not brought up to date. */
  migrate?: boolean;
}

/** Migrates, or with `migrate: false` checks that nothing is pending. */
export async function prepareDatabase(db: Database, options: StartOptions) {
  if (options.migrate === false) {
    if (!(await isMigrated(db))) {
      throw new Error(
        'the database has pending migrations: run `hearth migrate` first (started with --no-migrate)',
      );
    }
    return { applied: [] as string[], alreadyApplied: -1 };
  }
  return migrate(db);
}

/** Opens the database, applies migrations, builds the app and listens. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    holder: 'server',
    poolWaitMs: config.dbPoolWaitMs,
  });
  let app: FastifyInstance | undefined;
  try {
    const report = await prepareDatabase(db, options);
    app = await buildApp({ config, db, processMetrics: true });
    if (config.rootClientId && config.rootClientSecret) {
      const outcome = await app.hearth.services.clients.ensureRootClient(
        config.rootClientId,
        config.rootClientSecret,
      );
      app.log.info({ client_id: config.rootClientId, outcome }, 'bootstrap ROOT client');
    } else if (config.databaseUrl === null) {
      const first = await firstBootRootClient(app.hearth.services.clients, config.dataDir);
      if (first) {
        app.log.warn(
          { client_id: first.client_id, credentials_file: first.file },
          'first start: created a ROOT API client; its secret is in the credentials file (read it, then delete it)',
        );
      }
    }
    if (config.users.rootUsername && config.users.rootPassword) {
      const outcome = await app.hearth.services.users.ensureRootUser(
        config.users.rootUsername,
        config.users.rootPassword,
      );
      app.log.info({ username: config.users.rootUsername, outcome }, 'bootstrap ROOT user');
    } else if (config.databaseUrl === null) {
      const first = await firstBootRootUser(app.hearth.services.users, config.dataDir);
      if (first) {
        app.log.warn(
          { username: first.username, credentials_file: first.file },
          'first start: created the first administrator; its one-time password is in the credentials file (sign in, change it, delete the file)',
        );
      }
    }
    app.log.info(
      { applied: report.applied, already_applied: report.alreadyApplied, database: db.kind },
      'database ready',
    );
    const url = await app.listen({ port: config.port, host: config.host });
    // The command line finds the API of the server holding the embedded data folder here.
    const local = localUrl(app);
    if (db instanceof PgliteDatabase && local) db.lock?.setUrl(local);
    if (config.runWorkers) app.hearth.services.jobs.start();
    let stopping: Promise<void> | undefined;
    const running = app;
    const stop = () => {
      stopping ??= (async () => {
        // Readiness first (load balancers stop sending), keep serving for the drain period, then
        // stop accepting, let in-flight requests and jobs finish, and close the database.
        running.hearth.lifecycle.draining = true;
        if (config.shutdownDrainMs > 0) {
          running.log.info({ drain_ms: config.shutdownDrainMs }, 'draining: /readyz answers 503');
          await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
        }
        await running.close();
        await db.close();
      })();
      return stopping;
    };
    return { app, db, url, stop };
  } catch (err) {
    await app?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** Where a command on this machine reaches the server (loopback when it listens on every address). */
function localUrl(app: FastifyInstance): string | null {
  const address = app.server.address();
  if (address === null || typeof address === 'string') return null;
  const host = ['0.0.0.0', '::'].includes(address.address)
    ? '127.0.0.1'
    : address.family === 'IPv6'
      ? `[${address.address}]`
      : address.address;
  return `http://${host}:${address.port}`;
}

/** SIGTERM/SIGINT: graceful stop; a second signal exits at once. */
export function handleSignals(server: RunningServer): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    server.app.log.info({ signal }, 'shutting down');
    server
      .stop()
      .then(() => process.exit(0))
      .catch((err) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
