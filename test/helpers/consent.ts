import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { createPerson, upload } from './registry.js';
import { call, type TestTenant } from './tenant.js';

export const DAY = 86_400_000;
export const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
export const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();

export type CapturedConsent = Record<string, string | number | null> & { consent_id: string; status: string };

/**
 * Consent test helpers bound lazily to a test file's app and default tenant (both are created in
 * its beforeAll): verified persons, evidence uploads, captures, and a clock for consent windows.
 */
export function consentKit(ctx: () => { t: TestApp; a: TestTenant }) {
  const app = () => ctx().t.app;
  const post = (token: string | null, url: string, body: unknown = {}) =>
    call(app(), token, 'POST', url, body);
  const get = (token: string | null, url: string) => call(app(), token, 'GET', url);

  async function verifiedPerson(tenant: TestTenant = ctx().a, overrides: Record<string, unknown> = {}) {
    const p = await createPerson(app(), tenant.admin.token, overrides);
    const v = await post(tenant.admin.token, `/api/v1/persons/${p.person_id}/verify`);
    expect(v.statusCode, v.body).toBe(200);
    return p;
  }

  async function evidence(tenant: TestTenant = ctx().a) {
    return {
      evidence_attachment_ids: [await upload(app(), tenant.admin.token)],
      verification_document_attachment_id: await upload(
        app(),
        tenant.admin.token,
        'id-scan',
        'application/pdf',
      ),
    };
  }

  function captureBody(tenant: TestTenant = ctx().a, extra: Record<string, unknown> = {}) {
    return {
      vertical_id: tenant.verticals.HEALTH,
      active_from: ago(60_000),
      capture_mode: 'online',
      captured_by: 'field-officer-7',
      ...extra,
    };
  }

  async function capture(
    personId: string,
    extra: Record<string, unknown> = {},
    tenant: TestTenant = ctx().a,
  ): Promise<CapturedConsent> {
    const res = await post(
      tenant.admin.token,
      `/api/v1/persons/${personId}/consents`,
      captureBody(tenant, extra),
    );
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  /** Moves a consent's whole window `days` into the past (the tests' clock; nothing else changes). */
  async function backdate(consentId: string, days: number) {
    await ctx().t.db.query(
      `UPDATE consents SET active_from = active_from - make_interval(days => $2),
          active_until = active_until - make_interval(days => $2), grace_until = grace_until - make_interval(days => $2)
        WHERE id = $1`,
      [consentId, days],
    );
  }

  return { post, get, verifiedPerson, evidence, captureBody, capture, backdate };
}
