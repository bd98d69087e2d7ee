import type { FastifyInstance, InjectOptions } from 'fastify';
import { expect } from 'vitest';

export const G2P = '/g2p/api/v1/registry';

export type Creds = { clientId: string; secret: string };

export const basicOf = (c: Creds) => `Basic ${Buffer.from(`${c.clientId}:${c.secret}`).toString('base64')}`;

/** A G2P face caller: HTTP Basic with the given client (or none), JSON body when given. */
export function g2pCaller(app: () => FastifyInstance, defaultCreds: () => Creds) {
  return (
    method: InjectOptions['method'],
    path: string,
    body?: unknown,
    creds: Creds | null = defaultCreds(),
  ) =>
    app().inject({
      method,
      url: `${G2P}${path}`,
      headers: creds ? { authorization: basicOf(creds) } : {},
      ...(body !== undefined ? { payload: body as InjectOptions['payload'] } : {}),
    });
}

/** A G2P-style error: the status, the code, and the three fields the face always sends. */
export function expectG2pError(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status);
  const body = res.json() as Record<string, string>;
  expect(body.error_code).toBe(code);
  expect(typeof body.error_message).toBe('string');
  expect(typeof body.error_description).toBe('string');
  return body;
}
