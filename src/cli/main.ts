import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { handleSignals, startServer } from '../server.js';
import { clientCommand, keysCommand, tenantCommand } from './admin.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { userCommand } from './users.js';
import { workerCommand } from './worker.js';

const USAGE = `hearth <command> [options]

Commands:
  serve                 start the HTTP server (migrates first)
  migrate               apply pending database migrations and exit
  worker                run background jobs only (no HTTP); needs DATABASE_URL=postgres://…
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
  help                  show this text

Configuration comes from environment variables; see README.md.`;

type Command = (args: string[]) => Promise<number>;

async function serve(): Promise<number> {
  const server = await startServer(loadConfig());
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
    throw err;
  }
}
