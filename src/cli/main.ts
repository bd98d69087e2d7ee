import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { DataDirLockedError } from '../db/data-lock.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { handleSignals, startServer } from '../server.js';
import { clientCommand, keysCommand, tenantCommand } from './admin.js';
import { backupCommand, restoreCommand } from './backup.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { RemoteError } from './remote.js';
import { userCommand } from './users.js';
import { workerCommand } from './worker.js';

const USAGE = `hearth <command> [options]

Commands:
  serve [--no-migrate]  start the HTTP server (migrates first; --no-migrate: refuse to start
                        while migrations are pending, for deployments that run \`hearth migrate\` as a step)
  migrate               apply pending database migrations and exit
  worker [--no-migrate] run background jobs only (no HTTP); needs DATABASE_URL=postgres://…;
                        uses HEARTH_DB_POOL_SIZE connections
  tenant create --code CODE --name NAME
  client create --name NAME --roles ROLE[,ROLE] [--tenant CODE|ID] [--scopes …] [--verticals CODE,…]
                        prints the client secret once
  user create --username U --roles ROLE[,ROLE] [--tenant CODE|ID] [--display-name NAME]
                        prints a one-time password (replaced at the first sign-in)
  user reset-password --username U
                        prints a new one-time password; the user's sessions end
  keys rotate           sign new tokens with a new key (old tokens keep verifying)
  import persons FILE --tenant CODE [--on-duplicate reject|skip|update] [--mode all_or_nothing|best_effort] [--dry-run]
                        import a CSV or NDJSON file of persons, with a progress bar
  demo --tenant CODE [--persons N] [--seed S]
                        create a realistic synthetic tenant (households, memberships, relationships, consents)
  backup FILE           embedded database: a consistent snapshot (through the running server when there is one)
  restore FILE          embedded database: restore a backup into an empty HEARTH_DATA_DIR (server stopped)
  help                  show this text

Configuration comes from environment variables; see README.md.`;

type Command = (args: string[]) => Promise<number>;

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-migrate': { type: 'boolean' } } });
  const server = await startServer(loadConfig(), { migrate: !values['no-migrate'] });
  handleSignals(server);
  server.app.log.info(`Hearth listening on ${server.url} (docs at ${server.url}/docs)`);
  return -1; // keep running
}

async function runMigrate(): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    const report = await migrate(db);
    process.stdout.write(
      report.applied.length > 0
        ? `applied ${report.applied.length} migration(s): ${report.applied.join(', ')}\n`
        : `nothing to apply (${report.alreadyApplied} already applied)\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

export const COMMANDS: Record<string, Command> = {
  serve,
  migrate: runMigrate,
  tenant: tenantCommand,
  client: clientCommand,
  user: userCommand,
  keys: keysCommand,
  worker: workerCommand,
  import: importCommand,
  demo: demoCommand,
  backup: backupCommand,
  restore: restoreCommand,
};

export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const [name] = positionals;
  if (!name || name === 'help' || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(argv.slice(argv.indexOf(name) + 1));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78; // EX_CONFIG
    }
    if (err instanceof DataDirLockedError || err instanceof RemoteError) {
      process.stderr.write(`hearth: ${err.message}\n`);
      return 75; // EX_TEMPFAIL
    }
    throw err;
  }
}
