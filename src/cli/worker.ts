import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../server.js';
import { createServices } from '../services.js';

/**
 * `hearth worker`: runs background jobs (imports, pushes, webhook deliveries, sweeps) without
 * serving HTTP, so API and worker processes scale apart. On PGlite the embedded database has
 * one process; run workers in the server there (HEARTH_WORKERS=true, the default).
 */
export async function workerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-migrate': { type: 'boolean' } } });
  const config = loadConfig();
  if (config.databaseUrl === null || config.databaseUrl === 'memory://') {
    process.stderr.write(
      'hearth worker needs DATABASE_URL=postgres://…: the embedded database belongs to the server process, which runs the workers itself\n',
    );
    return 2;
  }
  const log = pino({ level: config.logLevel, name: 'hearth-worker' });
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
  });
  await prepareDatabase(db, { migrate: !values['no-migrate'] });
  const services = await createServices(config, db, log);
  services.jobs.start();
  log.info({ worker_id: services.jobs.workerId, database: db.kind }, 'worker started');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'worker stopping');
    services
      .close()
      .then(() => db.close())
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'worker stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return -1; // keep running
}
