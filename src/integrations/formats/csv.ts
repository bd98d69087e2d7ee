import { type CsvError, parse } from 'csv-parse/sync';
import { AppError } from '../../http/errors.js';

/**
 * Cells a spreadsheet would run as a formula (OWASP): =, +, -, @ (and their full-width forms some
 * spreadsheets also read) first, or after leading white space, which spreadsheets skip; and any
 * cell opening with a tab, CR or LF.
 */
const FORMULA_START = /^(?:\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\t\r\n])/;

/**
 * Prefixes a would-be formula with an apostrophe so spreadsheets show it as text. The one
 * function every CSV Hearth writes (pulls, import error reports) passes its text cells through.
 */
export function neutralizeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** One cell: null is empty, lists and objects are JSON text, everything is formula-safe. */
export function cellOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return neutralizeCell(text);
}

/** Characters that make RFC 4180 quote a cell. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * RFC 4180 lines (CRLF, quoted where needed) for rows of cells already made safe: a cell holding
 * a quote, comma, CR or LF is quoted with its quotes doubled (what csv-stringify wrote with
 * `record_delimiter: 'windows'`, byte for byte), the rest as they are. Written here because a
 * pull renders every cell of every row through it: no per-row objects or option handling.
 */
export function csvLines(rows: readonly (readonly string[])[]): string {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const cell = row[i];
      if (i > 0) out += ',';
      out += NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
    }
    out += '\r\n';
  }
  return out;
}

function malformed(message: string): AppError {
  return new AppError('ERR_VAL_INVALID_FORMAT', `payload is not valid CSV: ${message}`, {
    errors: [{ field: 'payload', message }],
  });
}

/**
 * A CSV payload as records: the first row names the columns (unique, non-empty), every row has
 * as many cells as the header, empty cells are left out of the record. Anything malformed is a
 * 422 naming the line; nothing is read past `maxRecords`.
 */
export function parseCsvRecords(text: string, maxRecords: number): Record<string, string>[] {
  let rows: string[][];
  try {
    rows = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
      relax_quotes: false,
      max_record_size: 1_000_000,
      to: maxRecords + 2,
    }) as string[][];
  } catch (err) {
    const e = err as CsvError;
    const line = typeof e.lines === 'number' ? `line ${e.lines}: ` : '';
    throw malformed(`${line}${(e.message ?? 'unreadable').replace(/^Invalid \w+: /, '')}`);
  }
  if (rows.length === 0) throw malformed('no header row');
  const header = rows[0];
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (name.trim() === '') throw malformed(`column ${i + 1} of the header row has no name`);
    if (seen.has(name)) throw malformed(`column "${name}" appears twice in the header row`);
    seen.add(name);
  });
  if (rows.length - 1 > maxRecords) throw tooManyRecords(maxRecords);
  return rows.slice(1).map((row) => {
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      if (row[i] !== '') record[name] = row[i];
    });
    return record;
  });
}

export function tooManyRecords(max: number): AppError {
  return new AppError('ERR_PAYLOAD_TOO_LARGE', `a push carries at most ${max} records`, {
    errors: [{ field: 'payload', message: `more than ${max} records` }],
  });
}
