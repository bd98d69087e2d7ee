import type { FastifyInstance } from 'fastify';
import { findUnstorable } from '../lib/storable.js';
import { AppError } from './errors.js';

/**
 * Input PostgreSQL cannot store (the NUL character) or that is nested deeper than Hearth takes is
 * refused before any route sees it: 422 naming the field, rendered by the route's face (its error
 * handler), whatever the part of the request — path parameters, query string or body.
 */
/** A streamed body (person imports over real HTTP): its content is checked where it is parsed. */
function isStream(value: unknown): boolean {
  return typeof value === 'object' && typeof (value as { pipe?: unknown }).pipe === 'function';
}

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const parts: [string, unknown][] = [
      ['', request.params],
      ['', request.query],
      ['', request.body],
    ];
    for (const [root, value] of parts) {
      if (value === undefined || value === null || Buffer.isBuffer(value) || isStream(value)) continue;
      const found = findUnstorable(value, root);
      if (!found) continue;
      const field = found.field || 'body';
      throw new AppError(found.code, `${field}: ${found.message}`, {
        status: 422,
        errors: [{ field, message: found.message, code: found.code }],
      });
    }
  });
}
