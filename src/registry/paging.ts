import { encodeCursor } from '../http/pagination.js';

export type Key = (string | number)[];

/**
 * Fills a page from an ordered source, dropping rows the caller may not see. Hidden rows are
 * skipped and never counted; the next cursor is the key of the last row returned, so a page is
 * never short because of hidden rows and the following page starts right after what was shown.
 */
export async function fillPage<R, V>(
  fetchChunk: (after: Key | null, size: number) => Promise<R[]>,
  keyOf: (row: R) => Key,
  filter: (rows: R[]) => Promise<V[]>,
  viewKey: (view: V) => Key,
  after: Key | null,
  limit: number,
): Promise<{ data: V[]; next_cursor: string | null }> {
  const want = limit + 1;
  const out: V[] = [];
  let cursor = after;
  const chunkSize = Math.min(500, Math.max(want * 2, 20));
  for (let round = 0; round < 50 && out.length < want; round++) {
    const rows = await fetchChunk(cursor, chunkSize);
    if (rows.length === 0) break;
    out.push(...(await filter(rows)));
    cursor = keyOf(rows[rows.length - 1]);
    if (rows.length < chunkSize) break;
  }
  if (out.length <= limit) return { data: out, next_cursor: null };
  const data = out.slice(0, limit);
  return { data, next_cursor: encodeCursor(viewKey(data[data.length - 1])) };
}
