import { STATUS_CODES } from 'node:http';
import type { ErrorObject } from 'ajv';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/database.js';
import { AppError, type FieldError } from './errors.js';
import { validationProblem } from './validation.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  correlation_id: string;
  instance?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemType(code: string): string {
  return `urn:hearth:problem:${code.toLowerCase()}`;
}

const FASTIFY_CODES: Record<string, [AppError['code'], string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the server accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported Content-Type for this route'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['ERR_MALFORMED_BODY', 'a JSON body is required but the body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['ERR_MALFORMED_BODY', 'request body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['ERR_MALFORMED_BODY', 'Content-Length does not match the body'],
  FST_ERR_CTP_INVALID_TYPE: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'Content-Type header is invalid'],
  FST_ERR_CTP_EMPTY_TYPE: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'Content-Type header is empty'],
};

/** Seconds a client is told to wait after the database was out of reach (a restart takes a few). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** 503 for a database that is down, restarting or out of free connections: try again shortly. */
export function databaseUnavailable(): AppError {
  return new AppError('ERR_SYS_UNAVAILABLE', 'the service is temporarily unavailable; try again shortly', {
    headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
  });
}

type AnyError = FastifyError & { validation?: ErrorObject[]; validationContext?: string };

/** Maps anything thrown into an AppError; unknown errors become a 500 without internals. */
export function toAppError(err: unknown): { error: AppError; internal: boolean } {
  if (err instanceof AppError) return { error: err, internal: false };
  const e = err as AnyError;
  if (e && Array.isArray(e.validation)) {
    return { error: validationProblem(e.validation, e.validationContext ?? 'body'), internal: false };
  }
  if (isDatabaseUnavailable(err)) return { error: databaseUnavailable(), internal: false };
  const known = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (known) return { error: new AppError(known[0], known[1]), internal: false };
  if (e instanceof SyntaxError && (e as AnyError).statusCode === 400) {
    return { error: new AppError('ERR_MALFORMED_BODY', 'request body is not valid JSON'), internal: false };
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return {
      error: new AppError('ERR_BAD_REQUEST', e.message || 'bad request', { status }),
      internal: false,
    };
  }
  return {
    error: new AppError('ERR_SYS_INTERNAL', 'an internal error occurred; quote the correlation_id'),
    internal: true,
  };
}

export function buildProblem(error: AppError, correlationId: string, instance?: string): Problem {
  const problem: Problem = {
    type: problemType(error.code),
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    correlation_id: correlationId,
  };
  if (instance) problem.instance = instance;
  if (error.errors && error.errors.length > 0) problem.errors = error.errors;
  if (error.extra) Object.assign(problem, error.extra);
  return problem;
}

/** The only place an error becomes a response: problem+json with the request's correlation id. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  const problem = buildProblem(error, request.id, request.url.split('?')[0]);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(problem);
}
