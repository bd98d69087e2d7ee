import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asOAuthError } from '../auth/oauth.js';
import { AppError } from '../http/errors.js';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '../http/problem.js';
import { dciErrorBody } from './dci/render.js';
import { g2pErrorBody } from './g2p/errors.js';
import { G2P_PREFIX } from './g2p/routes.js';

const TOKEN_PATHS = new Set([
  '/oauth/token',
  '/api/v2/spp/oauth/token',
  '/api/v2/spp/token',
  '/dci/oauth2/client/token',
]);

/**
 * The body of an error that happens before a route is chosen (a path parameter too long, headers
 * too large, an unparseable request), in the shape of the face the URL belongs to: G2P, DCI, an
 * OAuth token endpoint, or problem+json.
 */
export function errorAnswerFor(
  url: string,
  err: AppError,
  correlationId: string,
  participantId: string,
): { contentType: string; body: string } {
  const path = url.split('?')[0];
  if (path.startsWith(`${G2P_PREFIX}/`)) {
    return {
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify(g2pErrorBody(err, correlationId)),
    };
  }
  if (TOKEN_PATHS.has(path)) {
    const shaped = asOAuthError(err);
    const body = path.startsWith('/dci/')
      ? dciErrorBody(
          shaped,
          { id: correlationId, url: path, body: undefined } as FastifyRequest,
          'token',
          participantId,
        )
      : buildProblem(shaped, correlationId, path);
    return { contentType: 'application/json', body: JSON.stringify(body) };
  }
  if (path.startsWith('/dci/')) {
    const request = { id: correlationId, url: path, body: undefined } as FastifyRequest;
    const endpoint = path.includes('/sync/search')
      ? 'sync-search'
      : path.includes('/sync/txn/status')
        ? 'sync-txn-status'
        : 'search';
    return {
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify(dciErrorBody(err, request, endpoint, participantId)),
    };
  }
  return { contentType: PROBLEM_CONTENT_TYPE, body: JSON.stringify(buildProblem(err, correlationId, path)) };
}

/** Fastify's router refusals (a path parameter longer than allowed: 414; a malformed URL: 400). */
export function frameworkErrorHandler(participantId: string) {
  return (error: { code?: string }, request: FastifyRequest, reply: FastifyReply) => {
    const err =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError('ERR_URI_TOO_LONG', 'a path parameter is longer than the server accepts')
        : new AppError('ERR_BAD_REQUEST', 'the request URL is not valid');
    const { contentType, body } = errorAnswerFor(request.url, err, request.id, participantId);
    reply
      .header('X-Request-Id', request.id)
      .code(err.status)
      .type(contentType)
      .serializer((x) => x as string);
    return reply.send(body);
  };
}

/** The request line's URL from the bytes Node could not parse, when they hold one. */
function urlOf(raw: unknown): string {
  if (!Buffer.isBuffer(raw)) return '/';
  const line = /^[A-Z]{3,10} (\S{1,8192}) HTTP\//.exec(raw.subarray(0, 8300).toString('latin1'));
  return line ? line[1] : '/';
}

/**
 * Node's refusals before Fastify sees the request (headers too large: 431; a malformed request:
 * 400; a slow client: 408), answered in the contract's shape with a correlation id instead of
 * Node's or Fastify's default bodies, then the connection is closed.
 */
export function clientErrorHandler(participantId: string) {
  return (error: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const err =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('ERR_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new AppError('ERR_BAD_REQUEST', 'the request took too long to arrive', { status: 408 })
          : new AppError('ERR_MALFORMED_BODY', 'the request is not valid HTTP', { status: 400 });
    const id = randomUUID();
    const { contentType, body } = errorAnswerFor(urlOf(error.rawPacket), err, id, participantId);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\nContent-Type: ${contentType}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
