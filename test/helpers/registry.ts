import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { call } from './tenant.js';

let counter = 0;
/** A unique national id number for this test run. */
export function nid(): string {
  counter++;
  return `${Date.now().toString(36)}${process.pid}${counter}`.toUpperCase();
}

export function personBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    full_name: 'Amina Wanjiru',
    date_of_birth: '1990-04-12',
    gender: '2',
    identity_type: 'national_id',
    identity_number: nid(),
    ...overrides,
  };
}

export async function createPerson(
  app: FastifyInstance,
  token: string,
  overrides: Record<string, unknown> = {},
) {
  const res = await call(app, token, 'POST', '/api/v1/persons', personBody(overrides));
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { person_id: string; version_id: number; [k: string]: unknown };
}

export async function upload(
  app: FastifyInstance,
  token: string,
  content = 'signature-bytes',
  type = 'image/png',
) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/attachments?filename=evidence.png',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    payload: Buffer.from(content),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().attachment_id as string;
}

/**
 * Verifies the person (when still provisional) and captures an active consent in the vertical,
 * with evidence and a verification document: the way staff make a person readable.
 */
export async function grantConsent(
  app: FastifyInstance,
  adminToken: string,
  personId: string,
  verticalId: string,
  window: { active_from?: string; active_until?: string } = {},
) {
  const v = await call(app, adminToken, 'POST', `/api/v1/persons/${personId}/verify`, {});
  expect(v.statusCode, v.body).toBe(200);
  const evidence = await upload(app, adminToken);
  const doc = await upload(app, adminToken, 'id-scan', 'application/pdf');
  const res = await call(app, adminToken, 'POST', `/api/v1/persons/${personId}/consents`, {
    vertical_id: verticalId,
    active_from: window.active_from ?? new Date(Date.now() - 60_000).toISOString(),
    ...(window.active_until ? { active_until: window.active_until } : {}),
    capture_mode: 'online',
    evidence_attachment_ids: [evidence],
    verification_document_attachment_id: doc,
    captured_by: 'field-officer-7',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { consent_id: string; status: string };
}
