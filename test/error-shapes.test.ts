import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ROOT, type TestApp } from './helpers/app.js';
import { G2P } from './helpers/g2p.js';

/** One request over a real socket (Node's own parser refuses what inject never sees). */
function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const TOKEN_ENDPOINTS = [
  '/oauth/token',
  '/api/v2/spp/oauth/token',
  '/api/v2/spp/token',
  '/dci/oauth2/client/token',
];

describe('every error answer in the contract’s shape', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE: '3' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  it('414 for a long path parameter: problem+json natively, G2P shape on G2P', async () => {
    const long = 'x'.repeat(600);
    const native = await t.app.inject({ method: 'GET', url: `/api/v1/persons/${long}` });
    expect(native.statusCode).toBe(414);
    expect(native.headers['content-type']).toContain('application/problem+json');
    expect(native.json()).toMatchObject({ status: 414, code: 'ERR_URI_TOO_LONG' });
    expect(native.json().correlation_id).toBe(native.headers['x-request-id']);

    const g2p = await t.app.inject({ method: 'GET', url: `${G2P}/individual/${long}` });
    expect(g2p.statusCode).toBe(414);
    expect(g2p.json()).toMatchObject({ error_code: 'G2P-REQ-013', code: 'ERR_URI_TOO_LONG' });
  });

  it('431 for oversized headers: problem+json natively, G2P and DCI shapes on their faces', async () => {
    const big = { 'x-filler': 'y'.repeat(20_000) };
    const native = await rawRequest(port, '/api/v1/persons', big);
    expect(native.status).toBe(431);
    expect(native.headers['content-type']).toContain('application/problem+json');
    const problem = JSON.parse(native.body);
    expect(problem).toMatchObject({ status: 431, code: 'ERR_HEADERS_TOO_LARGE' });
    expect(problem.correlation_id).toBe(native.headers['x-request-id']);

    const g2p = await rawRequest(port, `${G2P}/individual`, big);
    expect(g2p.status).toBe(431);
    expect(JSON.parse(g2p.body)).toMatchObject({ error_code: 'G2P-REQ-013', code: 'ERR_HEADERS_TOO_LARGE' });

    const dci = await rawRequest(port, '/dci/registry/sync/search', big);
    expect(dci.status).toBe(431);
    expect(JSON.parse(dci.body).message).toMatchObject({ ack_status: 'ERR' });
  });

  for (const url of TOKEN_ENDPOINTS) {
    it(`${url}: 400, 413, 415, 422 and 429 carry the RFC 6749 error member`, async () => {
      const cases: [number, InjectOptions][] = [
        [
          400,
          { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' },
        ],
        [
          413,
          {
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ grant_type: 'x'.repeat(2 * 1024 * 1024) }),
          },
        ],
        [
          415,
          {
            method: 'POST',
            url,
            headers: { 'content-type': 'text/plain' },
            payload: 'grant_type=client_credentials',
          },
        ],
        [422, { method: 'POST', url, payload: { grant_type: 5 } }],
      ];
      for (const [status, request] of cases) {
        const res = await t.app.inject(request);
        expect(res.statusCode, `${status}: ${res.body}`).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json().error, res.body).toBe('invalid_request');
        expect(typeof res.json().error_description).toBe('string');
        expect(res.json().correlation_id).toBeTruthy();
      }
      // The token limit (3 a minute per client id) is spent by wrong secrets, then 429.
      let limited: LightMyRequestResponse | undefined;
      for (let i = 0; i < 6 && !limited; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url,
          payload: {
            grant_type: 'client_credentials',
            client_id: `${TEST_ROOT.id}-${url}`,
            client_secret: 'wrong',
          },
        });
        if (res.statusCode === 429) limited = res;
        else expect(res.json().error).toBe('invalid_client');
      }
      expect(limited, 'the token endpoint should rate-limit').toBeDefined();
      expect(limited!.headers['retry-after']).toBeTruthy();
      expect(limited!.json().error).toBe('temporarily_unavailable');
    });
  }
});
