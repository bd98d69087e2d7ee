import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Body } from '../src/http/schemas.js';
import { createTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ HEARTH_BODY_LIMIT: '2048' }, (app) => {
    app.post(
      '/test/echo',
      {
        config: { auth: { public: true } },
        schema: {
          body: Body({ name: Type.String({ minLength: 1 }), count: Type.Optional(Type.Integer()) }),
        },
      },
      async (request) => request.body,
    );
  });
});
afterAll(() => t?.close());

function expectProblem(
  res: { headers: Record<string, unknown>; json(): Record<string, unknown> },
  status: number,
) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.status).toBe(status);
  expect(typeof body.code).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.correlation_id).toBe(res.headers['x-request-id']);
  return body;
}

describe('operations', () => {
  it('GET /healthz is up', async () => {
    const res = await t.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz reports the migrated database', async () => {
    const res = await t.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });

  it('GET /docs serves an HTML page', async () => {
    const res = await t.app.inject({ url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/<html/i);
  });

  it('GET /openapi.json is OpenAPI 3.1 with a security scheme', async () => {
    const res = await t.app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toMatch(/\/oauth\/token$/);
    expect(doc.paths['/healthz'].get).toBeDefined();
    // The token endpoint takes form bodies (RFC 6749) as well as JSON, and says so.
    expect(Object.keys(doc.paths['/oauth/token'].post.requestBody.content)).toEqual(
      expect.arrayContaining(['application/x-www-form-urlencoded', 'application/json']),
    );
  });

  it('echoes X-Request-Id when the caller sends a safe one, else makes one', async () => {
    const given = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const unsafe = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('problem+json errors', () => {
  it('unknown route → 404 problem', async () => {
    const res = await t.app.inject({ url: '/no/such/route' });
    const body = expectProblem(res, 404);
    expect(body.code).toBe('ERR_NOT_FOUND');
  });

  it('malformed JSON → 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    const body = expectProblem(res, 400);
    expect(body.code).toBe('ERR_MALFORMED_BODY');
  });

  it('wrong content type → 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    const body = expectProblem(res, 415);
    expect(body.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('oversized body → 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(5000) }),
    });
    const body = expectProblem(res, 413);
    expect(body.code).toBe('ERR_PAYLOAD_TOO_LARGE');
  });

  it('unknown field → 422 naming it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      payload: { name: 'x', admin: true },
    });
    const body = expectProblem(res, 422);
    expect(body.code).toBe('ERR_VAL_UNKNOWN_FIELD');
    expect(body.errors).toEqual([
      { field: 'admin', message: 'is not a known field', code: 'ERR_VAL_UNKNOWN_FIELD' },
    ]);
  });

  it('wrong type is refused, not coerced', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x', count: '5' } });
    const body = expectProblem(res, 422);
    expect(body.errors).toContainEqual(expect.objectContaining({ field: 'count' }));
  });

  it('missing field → 422 ERR_VAL_MISSING_FIELD', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { count: 1 } });
    const body = expectProblem(res, 422);
    expect(body.code).toBe('ERR_VAL_MISSING_FIELD');
    expect(body.errors).toContainEqual(expect.objectContaining({ field: 'name' }));
  });

  it('a valid body passes', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x', count: 5 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'x', count: 5 });
  });
});
