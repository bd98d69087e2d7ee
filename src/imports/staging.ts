import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Tx } from '../db/database.js';
import type { RowError, StagedRow } from './validate-row.js';

/**
 * Writes validated rows into the staging tables. PostgreSQL: COPY … FROM STDIN (pg-copy-streams)
 * into a temporary table (COPY FROM refuses tables under row-level security), then one INSERT …
 * SELECT through the tenant policy. PGlite: INSERT … SELECT FROM unnest(…) of column arrays
 * (COPY FROM STDIN would kill the embedded engine).
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

function identityCells(rows: StagedRow[]): Cell[][] {
  const out: Cell[][] = [];
  for (const r of rows) {
    r.identities.forEach((i, ord) => {
      out.push([
        r.row,
        ord,
        i.identity_type,
        i.identity_number,
        i.key,
        i.expiry_date,
        i.status,
        i.description,
        r.identityFields[ord],
      ]);
    });
  }
  return out;
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

async function copyInto(tx: Tx, table: string, columns: readonly string[], lines: Cell[][]): Promise<void> {
  if (tx.raw.kind !== 'postgres') throw new Error('COPY is only used on PostgreSQL');
  const stream = tx.raw.client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  async function* text() {
    let batch = '';
    for (const cells of lines) {
      batch += copyLine(cells);
      if (batch.length > 256 * 1024) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  await pipeline(Readable.from(text()), stream);
}

async function stagePostgres(tx: Tx, tenantId: string, importId: string, rows: StagedRow[]): Promise<void> {
  // Same column types, no constraints (the tenant and import columns are added by the INSERT).
  await tx.exec(
    `CREATE TEMP TABLE import_rows_tmp ON COMMIT DROP AS
       SELECT ${ROW_COLUMNS.join(', ')} FROM person_import_rows WITH NO DATA;
     CREATE TEMP TABLE import_identities_tmp ON COMMIT DROP AS
       SELECT ${IDENTITY_COLUMNS.join(', ')} FROM person_import_identities WITH NO DATA`,
  );
  await copyInto(tx, 'import_rows_tmp', ROW_COLUMNS, rows.map(rowCells));
  const identities = identityCells(rows);
  if (identities.length > 0) await copyInto(tx, 'import_identities_tmp', IDENTITY_COLUMNS, identities);
  await tx.query(
    `INSERT INTO person_import_rows (tenant_id, import_id, ${ROW_COLUMNS.join(', ')})
     SELECT $1, $2, ${ROW_COLUMNS.join(', ')} FROM import_rows_tmp`,
    [tenantId, importId],
  );
  if (identities.length > 0) {
    await tx.query(
      `INSERT INTO person_import_identities (tenant_id, import_id, ${IDENTITY_COLUMNS.join(', ')})
       SELECT $1, $2, ${IDENTITY_COLUMNS.join(', ')} FROM import_identities_tmp`,
      [tenantId, importId],
    );
  }
  await tx.exec('DROP TABLE import_rows_tmp; DROP TABLE import_identities_tmp');
}

const column = <T>(rows: Cell[][], i: number) => rows.map((r) => r[i]) as T[];

async function stageArrays(tx: Tx, tenantId: string, importId: string, rows: StagedRow[]): Promise<void> {
  const cells = rows.map(rowCells);
  await tx.query(
    `INSERT INTO person_import_rows (tenant_id, import_id, ${ROW_COLUMNS.join(', ')})
     SELECT $1, $2, x.row_no, x.person_id, x.full_name, x.given_name, x.family_name, x.additional_name,
            x.date_of_birth, x.birth_date_estimated, x.gender, x.birth_place, x.address::jsonb, x.geo_id,
            x.household_id, x.relationship_type, x.extensions::jsonb, x.contacts::jsonb, x.fields::text[]
       FROM unnest($3::int[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::date[],
                   $10::boolean[], $11::text[], $12::text[], $13::text[], $14::uuid[], $15::uuid[], $16::text[],
                   $17::text[], $18::text[], $19::text[])
         AS x(${ROW_COLUMNS.join(', ')})`,
    [tenantId, importId, ...ROW_COLUMNS.map((_, i) => column(cells, i))],
  );
  const identities = identityCells(rows);
  if (identities.length === 0) return;
  await tx.query(
    `INSERT INTO person_import_identities (tenant_id, import_id, ${IDENTITY_COLUMNS.join(', ')})
     SELECT $1, $2, x.* FROM unnest($3::int[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::date[],
                                    $9::text[], $10::text[], $11::text[]) AS x(${IDENTITY_COLUMNS.join(', ')})`,
    [tenantId, importId, ...IDENTITY_COLUMNS.map((_, i) => column(identities, i))],
  );
}

export async function stageRows(
  tx: Tx,
  tenantId: string,
  importId: string,
  rows: StagedRow[],
): Promise<void> {
  if (rows.length === 0) return;
  if (tx.raw.kind === 'postgres') await stagePostgres(tx, tenantId, importId, rows);
  else await stageArrays(tx, tenantId, importId, rows);
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
