import { AppError } from './errors.js';

/**
 * Keyset cursors: the sort values of the last row of a page, encoded so that clients treat them
 * as opaque. They never carry a database sequence number or an offset.
 */
export function encodeCursor(values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number | null)[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === arity &&
      parsed.every((v) => v === null || typeof v === 'string' || typeof v === 'number')
    ) {
      return parsed;
    }
  } catch {
    // fall through to the refusal below
  }
  throw new AppError('ERR_VAL_INVALID_FORMAT', 'cursor is not a cursor this server issued', {
    status: 400,
    errors: [{ field: 'cursor', message: 'invalid cursor' }],
  });
}

/** Given limit+1 fetched rows, returns the page and the cursor for the next one. */
export function pageOf<R>(
  rows: R[],
  limit: number,
  keyOf: (row: R) => (string | number | null)[],
): { data: R[]; next_cursor: string | null } {
  if (rows.length <= limit) return { data: rows, next_cursor: null };
  const data = rows.slice(0, limit);
  return { data, next_cursor: encodeCursor(keyOf(data[data.length - 1])) };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor holding one UUID (lists ordered by their UUIDv7 id). */
export function decodeIdCursor(cursor: string | undefined): string | null {
  const values = decodeCursor(cursor, 1);
  if (values === null) return null;
  const id = values[0];
  if (typeof id !== 'string' || !UUID_RE.test(id)) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'cursor is not a cursor this server issued', {
      status: 400,
      errors: [{ field: 'cursor', message: 'invalid cursor' }],
    });
  }
  return id;
}
