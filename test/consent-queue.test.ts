// The tenant-wide consent work queue (GET /api/v1/consents): pending verification, expiring,
// in grace; staff only, limited to the reader's verticals and tenant, paged by cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { ahead, consentKit, DAY } from './helpers/consent.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
const { verifiedPerson, evidence, capture, backdate, post } = consentKit(() => ({ t, a }));

beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

const ids = (res: { json(): { data: { consent_id: string }[] } }) => res.json().data.map((c) => c.consent_id);

describe('GET /api/v1/consents', () => {
  it('lists pending, expiring and in-grace consents of the tenant, page by page', async () => {
    const reviewer = await a.client({ roles: ['reviewer'] });
    const p1 = await verifiedPerson(a);
    const p2 = await verifiedPerson(a);
    const p3 = await verifiedPerson(a);
    const pending = [
      await capture(p1.person_id, { capture_mode: 'offline' }),
      await capture(p2.person_id, { capture_mode: 'offline' }),
    ];
    const expiring = await capture(p3.person_id, { ...(await evidence(a)), active_until: ahead(5 * DAY) });
    expect(expiring.status).toBe('active');
    // Another tenant's pending consent never shows.
    const other = await verifiedPerson(b, {});
    const foreign = await post(b.admin.token, `/api/v1/persons/${other.person_id}/consents`, {
      vertical_id: b.verticals.HEALTH,
      active_from: new Date(Date.now() - 60_000).toISOString(),
      capture_mode: 'offline',
      captured_by: 'x',
    });
    expect(foreign.statusCode, foreign.body).toBe(201);

    const queue = await call(t.app, reviewer.token, 'GET', '/api/v1/consents?status=pending&limit=200');
    expect(queue.statusCode, queue.body).toBe(200);
    expect(ids(queue)).toEqual(expect.arrayContaining(pending.map((c) => c.consent_id)));
    expect(ids(queue)).not.toContain(foreign.json().consent_id);
    expect(ids(queue)).not.toContain(expiring.consent_id);
    expect(queue.json().data.every((c: { status: string }) => c.status === 'pending')).toBe(true);

    // Pages of one, following next_cursor, walk the same list.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        t.app,
        reviewer.token,
        'GET',
        `/api/v1/consents?status=pending&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.statusCode, page.body).toBe(200);
      seen.push(...ids(page));
      cursor = page.json().next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids(queue));

    const soon = await call(
      t.app,
      reviewer.token,
      'GET',
      `/api/v1/consents?expiring_before=${encodeURIComponent(ahead(30 * DAY))}`,
    );
    expect(ids(soon)).toContain(expiring.consent_id);
    expect(ids(soon)).not.toContain(pending[0].consent_id);
    const later = await call(
      t.app,
      reviewer.token,
      'GET',
      `/api/v1/consents?expiring_before=${encodeURIComponent(ahead(2 * DAY))}`,
    );
    expect(ids(later)).not.toContain(expiring.consent_id);

    // Moved 7 days back, it ended 2 days ago and is in its grace period.
    await backdate(expiring.consent_id, 7);
    const grace = await call(t.app, reviewer.token, 'GET', '/api/v1/consents?in_grace=true');
    expect(grace.statusCode, grace.body).toBe(200);
    expect(ids(grace)).toEqual([expiring.consent_id]);
  });

  it('is refused to consent-bound callers, limited to a client’s verticals, and checks its query', async () => {
    const p = await verifiedPerson(a);
    const c = await capture(p.person_id, { capture_mode: 'offline' });
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    const refused = await call(t.app, bound.token, 'GET', '/api/v1/consents?status=pending');
    expect(refused.statusCode, refused.body).toBe(403);
    const integration = await a.client({ roles: ['integration', 'auditor'] });
    expect((await call(t.app, integration.token, 'GET', '/api/v1/consents')).statusCode).toBe(403);
    const education = await a.client({ roles: ['reviewer'], vertical_ids: [a.verticals.EDU] });
    const theirs = await call(t.app, education.token, 'GET', '/api/v1/consents?status=pending&limit=200');
    expect(theirs.statusCode, theirs.body).toBe(200);
    expect(ids(theirs)).not.toContain(c.consent_id);
    const approver = await a.client({ roles: ['approver'] });
    expect((await call(t.app, approver.token, 'GET', '/api/v1/consents')).statusCode).toBe(403);
    for (const q of ['status=lost', 'limit=0', 'in_grace=maybe', 'expiring_before=tomorrow', 'cursor=zzz']) {
      const bad = await call(t.app, a.admin.token, 'GET', `/api/v1/consents?${q}`);
      expect(bad.statusCode, `${q}: ${bad.body}`).toBe(400);
    }
  });
});
