import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { assertUuid, type Tx } from '../db/database.js';
import type { RowError, StagedRow } from './validate-row.js';

/**
 * Writes validated rows into the staging tables with COPY straight into them, in a system
 * transaction (the job's own, not the tenant's: COPY FROM refuses a table under row-level
 * security, and the tables' owner is not subject to it). Every line carries the run's tenant and
 * import id, set here from the run itself, never from the file. PostgreSQL: COPY … FROM STDIN
 * (pg-copy-streams); PGlite: COPY … FROM '/dev/blob' (COPY FROM STDIN would kill the embedded
 * engine).
 */

const ROW_COLUMNS = [
  'row_no',
  'person_id',
  'full_name',
  'given_name',
  'family_name',
  'additional_name',
  'date_of_birth',
  'birth_date_estimated',
  'gender',
  'birth_place',
  'address',
  'geo_id',
  'household_id',
  'relationship_type',
  'extensions',
  'contacts',
  'fields',
] as const;

const IDENTITY_COLUMNS = [
  'row_no',
  'ord',
  'identity_type',
  'identity_number',
  'identity_key',
  'expiry_date',
  'status',
  'description',
  'source_field',
] as const;

type Cell = string | number | boolean | null;

function rowCells(r: StagedRow): Cell[] {
  return [
    r.row,
    r.personId,
    r.fullName,
    r.givenName,
    r.familyName,
    r.additionalName,
    r.dateOfBirth,
    r.birthDateEstimated,
    r.gender,
    r.birthPlace,
    r.address,
    r.geoId,
    r.householdId,
    r.relationshipType,
    r.extensions,
    r.contacts,
    // Field names are identifiers: a plain array literal needs no quoting.
    `{${r.fields.join(',')}}`,
  ];
}

function* identityCells(rows: StagedRow[]): Generator<Cell[]> {
  for (const r of rows) {
    for (let ord = 0; ord < r.identities.length; ord++) {
      const i = r.identities[ord];
      yield [
        r.row,
        ord,
        i.identity_type,
        i.identity_number,
        i.key,
        i.expiry_date,
        i.status,
        i.description,
        r.identityFields[ord],
      ];
    }
  }
}

/** One line of COPY text format. */
export function copyLine(cells: readonly Cell[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) line += '\t';
    const v = cells[i];
    if (v === null) line += '\\N';
    else if (typeof v === 'boolean') line += v ? 't' : 'f';
    else if (typeof v === 'number') line += String(v);
    else
      line += v.replace(/[\\\n\r\t]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
      );
  }
  return `${line}\n`;
}

/** The lines of one COPY, in parts of about 256 KiB (a chunk of rows never sits in one string). */
function* copyText(prefix: string, lines: Iterable<Cell[]>): Generator<string> {
  let batch = '';
  for (const cells of lines) {
    batch += prefix + copyLine(cells);
    if (batch.length > 256 * 1024) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

async function copyInto(
  tx: Tx,
  table: string,
  columns: readonly string[],
  prefix: string,
  lines: Iterable<Cell[]>,
): Promise<void> {
  const sql = `COPY ${table} (tenant_id, import_id, ${columns.join(', ')}) FROM`;
  if (tx.raw.kind === 'postgres') {
    await pipeline(Readable.from(copyText(prefix, lines)), tx.raw.client.query(copyFrom(`${sql} STDIN`)));
  } else {
    await tx.raw.tx.query(`${sql} '/dev/blob'`, [], { blob: new Blob([...copyText(prefix, lines)]) });
  }
}

/**
 * Stages the rows and their identities. `tx` must be a system transaction (tx.tenantId null):
 * the tenant is written explicitly on every line.
 */
export async function stageRows(
  tx: Tx,
  tenantId: string,
  importId: string,
  rows: StagedRow[],
): Promise<void> {
  if (rows.length === 0) return;
  if (tx.tenantId !== null) throw new Error('staging COPY runs in a system transaction');
  const prefix = `${assertUuid(tenantId)}\t${assertUuid(importId)}\t`;
  await copyInto(tx, 'person_import_rows', ROW_COLUMNS, prefix, rows.map(rowCells));
  await copyInto(tx, 'person_import_identities', IDENTITY_COLUMNS, prefix, identityCells(rows));
}

/** Per-row errors (numbered within their row). */
export async function stageErrors(
  tx: Tx,
  tenantId: string,
  importId: string,
  errors: RowError[],
): Promise<void> {
  if (errors.length === 0) return;
  const seqs: number[] = [];
  let last = -1;
  let seq = 0;
  for (const e of errors) {
    seq = e.row === last ? seq + 1 : 0;
    last = e.row;
    seqs.push(seq);
  }
  await tx.query(
    `INSERT INTO person_import_errors (tenant_id, import_id, row_no, seq, field, code, message)
     SELECT $1, $2, x.* FROM unnest($3::int[], $4::smallint[], $5::text[], $6::text[], $7::text[])
       AS x(row_no, seq, field, code, message)
     ON CONFLICT DO NOTHING`,
    [
      tenantId,
      importId,
      errors.map((e) => e.row),
      seqs,
      errors.map((e) => e.field.slice(0, 200)),
      errors.map((e) => e.code),
      errors.map((e) => e.message.slice(0, 1000)),
    ],
  );
}
