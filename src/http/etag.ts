import { AppError } from './errors.js';

/** The version named by an If-Match header (`"3"`, `W/"3"` or `3`), or undefined when absent. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(raw);
  if (!m) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', 'If-Match must name a version, e.g. "3"', {
      status: 400,
      errors: [{ field: 'If-Match', message: 'must be a quoted version_id' }],
    });
  }
  return Number(m[1]);
}

export const etagOf = (versionId: number | string): string => `"${versionId}"`;
