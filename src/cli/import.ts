import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Actor, systemActor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { type LocalProgress, runImportHere } from '../imports/local-run.js';
import type { ImportView } from '../imports/schemas.js';
import type { ImportRequest } from '../imports/service.js';
import type { Services } from '../services.js';
import { resolveTenantId, withServices } from './admin.js';

const USAGE = `usage: hearth import persons FILE --tenant CODE|ID [--format csv|ndjson] [--on-duplicate reject|skip|update]
                     [--mode all_or_nothing|best_effort] [--dry-run] [--source-system NAME]`;

/** A one-line progress bar on stderr (redrawn on a terminal, every 10% otherwise). */
export class ProgressBar {
  private lastDrawn = -1;
  private readonly started = Date.now();
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  draw(label: string, percent: number, detail: string): void {
    const p = Math.max(0, Math.min(100, percent));
    if (!this.out.isTTY) {
      const step = Math.floor(p / 10);
      if (step === this.lastDrawn) return;
      this.lastDrawn = step;
      this.out.write(`${label} ${p.toFixed(0)}% ${detail}\n`);
      return;
    }
    const width = 30;
    const filled = Math.round((p / 100) * width);
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    this.out.write(
      `\r${label.padEnd(10)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.toFixed(1).padStart(5)}% ${detail} ${secs}s\x1b[K`,
    );
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

const n = (v: number) => v.toLocaleString('en-US');

async function* readWithProgress(file: string, onBytes: (read: number) => void): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    read += (chunk as Buffer).length;
    onBytes(read);
    yield chunk as Buffer;
  }
}

/** Uploads a file and runs its import in this process, drawing progress. */
export async function importFile(
  s: Services,
  db: Database,
  actor: Actor,
  file: string,
  request: ImportRequest,
  bar: ProgressBar | null,
): Promise<ImportView> {
  const size = fs.statSync(file).size;
  const body = readWithProgress(file, (read) =>
    bar?.draw('uploading', (100 * read) / Math.max(1, size), `${n(read)}/${n(size)} bytes`),
  );
  const { accepted } = await s.imports.create(actor, body, request);
  const draw = (p: LocalProgress) =>
    bar?.draw(p.phase, p.percent, `${n(p.rows_done)}/${n(p.rows_total)} rows`);
  const view = await runImportHere(db, s.imports, actor, accepted.import_id, draw);
  bar?.draw('done', 100, `${n(view.counts.rows_read)} rows`);
  bar?.done();
  return view;
}

export async function importCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      format: { type: 'string' },
      'on-duplicate': { type: 'string', default: 'reject' },
      mode: { type: 'string', default: 'all_or_nothing' },
      'dry-run': { type: 'boolean', default: false },
      'source-system': { type: 'string' },
    },
  });
  const [what, file] = positionals;
  const onDuplicate = values['on-duplicate'];
  const mode = values.mode;
  if (
    what !== 'persons' ||
    !file ||
    !values.tenant ||
    !['reject', 'skip', 'update'].includes(onDuplicate) ||
    !['all_or_nothing', 'best_effort'].includes(mode)
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (!fs.existsSync(file)) {
    process.stderr.write(`no such file: ${file}\n`);
    return 2;
  }
  const format = values.format ?? (/\.(nd)?jsonl?$/i.test(file) ? 'ndjson' : 'csv');
  if (format !== 'csv' && format !== 'ndjson') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  return withServices(async (s, db) => {
    const tenantId = await resolveTenantId(db, values.tenant!);
    const actor = systemActor(tenantId, 'cli');
    actor.sourceSystem = values['source-system'] ?? 'hearth-cli';
    try {
      const view = await importFile(
        s,
        db,
        actor,
        file,
        {
          format,
          onDuplicate: onDuplicate as ImportRequest['onDuplicate'],
          mode: mode as ImportRequest['mode'],
          dryRun: values['dry-run'],
          filename: path.basename(file),
          idempotencyKey: null,
        },
        new ProgressBar(),
      );
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      if (view.counts.rejected > 0) {
        const first = await s.imports.errors(actor, view.import_id, undefined, 20);
        for (const e of first.data) process.stderr.write(`row ${e.row} ${e.field}: ${e.message}\n`);
        if (first.next_cursor) process.stderr.write(`… ${n(view.counts.rejected)} rejected rows in all\n`);
      }
      return view.status === 'completed' ? 0 : 1;
    } catch (err) {
      if (err instanceof AppError) {
        process.stderr.write(`\nrefused: ${err.message}\n`);
        for (const e of err.errors ?? []) process.stderr.write(`  ${e.field}: ${e.message}\n`);
        return 1;
      }
      throw err;
    }
  });
}
