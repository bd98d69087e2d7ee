import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.js';

/**
 * The staff console's built files. src/console and dist/console sit at the same depth, so the
 * same relative path works from the TypeScript sources (tests) and from the compiled server.
 */
export const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

// Mantine sets inline styles, so style-src needs 'unsafe-inline'; scripts come only from us.
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function consoleHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', CONSOLE_CSP);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'same-origin');
}

/** A built file for a request path under /console/, or null (the SPA's routes answer index.html). */
function builtFile(dist: string, wildcard: string): string | null {
  if (!wildcard || wildcard.includes('\0')) return null;
  const full = path.resolve(dist, wildcard);
  if (!full.startsWith(dist + path.sep)) return null;
  try {
    return fs.statSync(full).isFile() ? path.relative(dist, full) : null;
  } catch {
    return null;
  }
}

export interface ConsoleOptions {
  /** Folder of the built console (tests may point elsewhere). */
  dist?: string;
}

/** Serves the staff console at /console (a single-page application) and sends browsers from / to it. */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const dist = options.dist ?? CONSOLE_DIST;
  await app.register(fastifyStatic, { root: dist, serve: false, index: false });

  function sendIndex(reply: FastifyReply) {
    if (!fs.existsSync(path.join(dist, 'index.html'))) {
      throw new AppError('ERR_SYS_UNAVAILABLE', 'the console is not built: run `npm run build:console`');
    }
    consoleHeaders(reply);
    reply.header('Cache-Control', 'no-cache');
    return reply.sendFile('index.html');
  }

  const hidden = { schema: { hide: true }, config: { auth: { public: true as const } } };

  app.get('/', hidden, async (request: FastifyRequest, reply) => {
    // Browsers land on the console; API callers keep getting a plain 404.
    if ((request.headers.accept ?? '').includes('text/html')) return reply.redirect('/console/', 302);
    throw new AppError('ERR_NOT_FOUND', 'no route for GET /; the staff console is at /console/');
  });
  // With ignoreTrailingSlash, /console/ also lands here: only the bare /console is redirected.
  app.get('/console', hidden, async (request, reply) =>
    request.url.split('?')[0].endsWith('/') ? sendIndex(reply) : reply.redirect('/console/', 301),
  );
  app.get('/console/*', hidden, async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const wanted = request.params['*'];
    const file = builtFile(dist, wanted);
    if (!file && wanted.startsWith('assets/'))
      throw new AppError('ERR_NOT_FOUND', `no console asset ${wanted}`);
    if (!file || file === 'index.html') return sendIndex(reply);
    consoleHeaders(reply);
    // Vite names built assets by content hash: they never change under the same name.
    reply.header(
      'Cache-Control',
      file.startsWith(`assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return reply.sendFile(file);
  });
}
