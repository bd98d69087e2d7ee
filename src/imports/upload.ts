import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { AppError } from '../http/errors.js';
import { checkHeader } from './columns.js';

export type ImportFormat = 'csv' | 'ndjson';

/** One staged row: its line in the file and its content (CSV: the cells; NDJSON: the raw line). */
export type RawRow = [line: number, content: string[] | string];

export interface ChunkSink {
  write(seq: number, rows: RawRow[]): Promise<void>;
}

export interface UploadSummary {
  header: string[] | null;
  rows: number;
  chunks: number;
  bytes: number;
  sha256: string;
}

export interface UploadOptions {
  format: ImportFormat;
  maxBytes: number;
  chunkRows: number;
  sink: ChunkSink;
}

const MAX_RECORD_BYTES = 1024 * 1024;

export const tooLarge = (maxBytes: number) =>
  new AppError(
    'ERR_PAYLOAD_TOO_LARGE',
    `the file is larger than ${maxBytes} bytes (HEARTH_IMPORT_MAX_BYTES)`,
  );

const malformed = (detail: string) => new AppError('ERR_MALFORMED_BODY', detail);

/** Counts and hashes the bytes as they pass, refusing more than maxBytes. */
async function* metered(
  body: AsyncIterable<Buffer | string>,
  maxBytes: number,
  stats: { bytes: number; hash: ReturnType<typeof createHash> },
): AsyncGenerator<Buffer> {
  for await (const part of body) {
    const buf = typeof part === 'string' ? Buffer.from(part) : part;
    stats.bytes += buf.length;
    if (stats.bytes > maxBytes) throw tooLarge(maxBytes);
    stats.hash.update(buf);
    yield buf;
  }
}

/** Groups rows into chunks of chunkRows and hands each to the sink in order. */
class Chunker {
  private rows: RawRow[] = [];
  private pending: Promise<void> = Promise.resolve();
  seq = 0;
  count = 0;
  constructor(
    private readonly sink: ChunkSink,
    private readonly chunkRows: number,
  ) {}

  async add(row: RawRow): Promise<void> {
    this.rows.push(row);
    this.count++;
    if (this.rows.length >= this.chunkRows) await this.flush();
  }

  /** Hands the chunk over and keeps reading: one write in flight while the next chunk fills. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.pending = this.sink.write(this.seq++, rows);
    // A failed write surfaces at the next flush or at finish(); never as an unhandled rejection.
    this.pending.catch(() => {});
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.pending;
  }

  /** Waits for the write in flight, whatever its outcome (before the caller cleans up). */
  async settle(): Promise<void> {
    await this.pending.catch(() => {});
  }
}

async function receiveCsv(source: AsyncIterable<Buffer>, chunker: Chunker): Promise<string[]> {
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const piping = pipeline(Readable.from(source), parser).then(
    () => null,
    (err: unknown) => err,
  );
  let header: string[] | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === null) {
        header = record.map((h) => h.trim());
        checkHeader(header);
        continue;
      }
      await chunker.add([info.lines, record]);
    }
  } catch (err) {
    throw translate(err);
  }
  const failed = await piping;
  if (failed) throw translate(failed);
  if (header === null) throw malformed('the CSV file is empty: a header row is required');
  return header;
}

function translate(err: unknown): unknown {
  if (err instanceof CsvError) {
    const line = (err as CsvError & { lines?: number }).lines;
    return malformed(`malformed CSV${line ? ` at line ${line}` : ''}: ${err.message}`);
  }
  return err;
}

async function receiveNdjson(source: AsyncIterable<Buffer>, chunker: Chunker): Promise<void> {
  let carry: Buffer[] = [];
  let carryLength = 0;
  let line = 0;
  const emit = async (bytes: Buffer) => {
    line++;
    let text = bytes.toString('utf8');
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() !== '') await chunker.add([line, text]);
  };
  for await (const buf of source) {
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const piece = buf.subarray(start, nl);
      if (carryLength + piece.length > MAX_RECORD_BYTES) {
        throw malformed(`line ${line + 1} is longer than ${MAX_RECORD_BYTES} bytes`);
      }
      await emit(carry.length > 0 ? Buffer.concat([...carry, piece]) : piece);
      carry = [];
      carryLength = 0;
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      carryLength += rest.length;
      if (carryLength > MAX_RECORD_BYTES) {
        throw malformed(`line ${line + 1} is longer than ${MAX_RECORD_BYTES} bytes`);
      }
      carry.push(rest);
    }
  }
  if (carryLength > 0) await emit(Buffer.concat(carry));
}

/**
 * Reads an upload as it streams in: CSV is parsed (header checked, records split, malformed
 * quoting refused) and NDJSON split into lines; rows go to the sink in chunks, so memory holds one
 * chunk whatever the file size. Structural problems refuse the whole upload (4xx); problems of
 * one row are for the validation job to report.
 */
export async function receiveUpload(
  body: AsyncIterable<Buffer | string>,
  options: UploadOptions,
): Promise<UploadSummary> {
  const stats = { bytes: 0, hash: createHash('sha256') };
  const source = metered(body, options.maxBytes, stats);
  const chunker = new Chunker(options.sink, options.chunkRows);
  let header: string[] | null = null;
  try {
    if (options.format === 'csv') header = await receiveCsv(source, chunker);
    else await receiveNdjson(source, chunker);
    await chunker.finish();
  } catch (err) {
    await chunker.settle();
    throw err;
  }
  if (stats.bytes === 0) throw malformed('the request body is empty');
  if (chunker.count === 0) {
    throw new AppError('ERR_VAL_MISSING_FIELD', 'the file has no data rows', {
      status: 422,
      errors: [{ field: 'body', message: 'no data rows' }],
    });
  }
  return {
    header,
    rows: chunker.count,
    chunks: chunker.seq,
    bytes: stats.bytes,
    sha256: stats.hash.digest('hex'),
  };
}
