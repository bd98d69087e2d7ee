import type { FastifyInstance } from 'fastify';
import type { ReadReplicas } from '../db/read-replicas.js';
import { writerOf } from '../db/tx.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Read-your-writes with read replicas: a caller whose request may have written (any method but
 * GET, HEAD and OPTIONS, answered below 400) reads from the primary for a while, so a search
 * right after an update finds it (decision 0093). Per process: the bound across processes is
 * the replica lag limit.
 */
export function registerReadYourWrites(app: FastifyInstance, reads: ReadReplicas): void {
  if (!reads.configured) return;
  // onSend, not onResponse: noted before the answer leaves, so the caller's next request sees it.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!READS.has(request.method) && reply.statusCode < 400 && request.actor) {
      reads.noteWrite(writerOf(request.actor));
    }
    return payload;
  });
}
