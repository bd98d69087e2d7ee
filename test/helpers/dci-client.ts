import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import {
  assertValidCallback,
  assertValidRequest,
  assertValidResponse,
  requestErrors,
} from './dci-openapi.js';

/** Builders of DCI envelopes and a client that checks every request and answer against the contract. */

export const SENDER = 'spmis.example.org';

export function now(): string {
  return new Date().toISOString();
}

export function header(
  action: string,
  total = 1,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    version: '1.0.0',
    message_id: randomUUID(),
    message_ts: now(),
    action,
    sender_id: SENDER,
    total_count: total,
    ...overrides,
  };
}

export interface SearchItemBody {
  reference_id: string;
  timestamp: string;
  search_criteria: Record<string, unknown>;
  [extra: string]: unknown;
}

export function searchItem(
  criteria: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): SearchItemBody {
  return { reference_id: `ref-${randomUUID()}`, timestamp: now(), search_criteria: criteria, ...extra };
}

export const idQuery = (type: string, value: string, extra: Record<string, unknown> = {}) => ({
  query_type: 'idtype-value',
  query: { type, value },
  ...extra,
});

export const predicateQuery = (predicates: unknown[], extra: Record<string, unknown> = {}) => ({
  query_type: 'predicate',
  query: predicates,
  ...extra,
});

export const expressionQuery = (expression: unknown, extra: Record<string, unknown> = {}) => ({
  query_type: 'expression',
  query: { type: 'ns:org:QueryType:expression', value: { expression } },
  ...extra,
});

export function searchEnvelope<T>(items: T[], headerOverrides: Record<string, unknown> = {}) {
  return {
    signature: 'unsigned-stub',
    header: header('search', items.length, headerOverrides),
    message: { transaction_id: `txn-${randomUUID()}`, search_request: items },
  };
}

export function txnStatusEnvelope(
  attributeType: 'transaction_id' | 'reference_id_list' | 'correlation_id',
  value: string | string[],
  txnType = 'search',
  headerOverrides: Record<string, unknown> = {},
) {
  return {
    header: header('txn-status', 1, headerOverrides),
    message: {
      transaction_id: `txn-${randomUUID()}`,
      txnstatus_request: {
        reference_id: `ref-${randomUUID()}`,
        txn_type: txnType,
        attribute_type: attributeType,
        attribute_value: value,
      },
    },
  };
}

export interface DciCallOptions {
  /** The request deliberately breaks the contract (a refusal test): assert that it does. */
  invalidRequest?: boolean;
  headers?: Record<string, string>;
}

/** POSTs to a DCI path; the request (unless meant to be invalid) and the answer are checked against the contract. */
export async function dciPost(
  app: FastifyInstance,
  token: string | null,
  url: string,
  body: unknown,
  options: DciCallOptions = {},
): Promise<LightMyRequestResponse> {
  if (options.invalidRequest) {
    expect(requestErrors(url, body).length, 'the request should break the contract').toBeGreaterThan(0);
  } else {
    assertValidRequest(url, body);
  }
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.headers ?? {}) },
    payload: body as Record<string, unknown>,
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  assertValidResponse(url, res.statusCode, res.json());
  return res;
}

/** Every 4xx of the DCI face: errors[], a DCI ERR message with a code from the spec's list. */
export function expectDciError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(body.message.ack_status).toBe('ERR');
  expect(body.message.error.code).toBe(code);
  expect(Array.isArray(body.errors)).toBe(true);
  expect(body.errors[0].code).toBe(code);
  return body;
}

export interface Received {
  path: string;
  authorization: string | undefined;
  body: {
    signature?: string;
    header: Record<string, unknown> & { action: string };
    message: Record<string, unknown>;
  };
}

/** A real HTTP receiver on 127.0.0.1 that answers every callback with an ACK and checks it against the contract. */
export async function callbackReceiver() {
  const received: Received[] = [];
  const problems: string[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        try {
          assertValidCallback(body.header.action, body);
        } catch (err) {
          problems.push((err as Error).message);
        }
        received.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      } catch (err) {
        problems.push(`not JSON: ${(err as Error).message}`);
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ message: { ack_status: 'ACK', timestamp: now(), correlation_id: randomUUID() } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    problems,
    /** The receiver answers this status from now on (failure tests). */
    answer(code: number) {
      status = code;
    },
    ofAction(action: string) {
      return received.filter((r) => r.body.header.action === action);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
