// Consent case: the same person read by a consent-bound reader (the consent decision runs) and by
// ROOT (the decision is skipped), both on Hearth: the issue asks for with/without ≥ 0.8.
import type { BenchCase, BenchContext } from './cases.js';
import { ensureTenant, post, token } from './cases.js';

async function upload(ctx: BenchContext, content: string, type: string): Promise<string> {
  const res = await fetch(`${ctx.hearthUrl}/api/v1/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.state.admin_token}`, 'content-type': type },
    body: content,
  });
  if (!res.ok) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { attachment_id: string }).attachment_id;
}

/** A verified person with an active HEALTH consent, a consent-bound reader and a ROOT token. */
async function ensureConsentRead(ctx: BenchContext): Promise<void> {
  await ensureTenant(ctx);
  if (ctx.state.consent_person_id) return;
  const admin = ctx.state.admin_token;
  const person = await post(
    ctx,
    '/api/v1/persons',
    {
      full_name: 'Consent Bench',
      date_of_birth: '1979-06-01',
      gender: '1',
      identity_type: 'national_id',
      identity_number: `CB${Date.now()}`,
      contacts: [{ type: 'phone', value: '+254700111222' }],
    },
    admin,
  );
  const id = person.person_id as string;
  await post(ctx, `/api/v1/persons/${id}/verify`, {}, ctx.state.verifier_token);
  const verticals = await fetch(`${ctx.hearthUrl}/api/v1/verticals`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  const { data } = (await verticals.json()) as { data: { vertical_id: string; code: string }[] };
  await post(
    ctx,
    `/api/v1/persons/${id}/consents`,
    {
      vertical_id: data.find((v) => v.code === 'HEALTH')?.vertical_id,
      active_from: new Date(Date.now() - 60_000).toISOString(),
      capture_mode: 'online',
      evidence_attachment_ids: [await upload(ctx, 'signature', 'image/png')],
      verification_document_attachment_id: await upload(ctx, 'id-scan', 'application/pdf'),
      captured_by: 'bench',
    },
    admin,
  );
  const reader = await post(
    ctx,
    '/api/v1/clients',
    { name: 'consent-bound reader', roles: ['registrar'], consent_bound: true },
    admin,
  );
  ctx.state.bound_token = await token(ctx, reader.client_id as string, reader.client_secret as string);
  ctx.state.root_token = await token(ctx, 'bench-root', 'bench-root-secret-0123456789');
  ctx.state.consent_person_id = id;
  // Both sides are Hearth and run one after the other: warm both paths first so the side measured
  // first does not also pay for JIT warm-up.
  const reads: Record<string, string>[] = [
    { authorization: `Bearer ${ctx.state.bound_token}` },
    { authorization: `Bearer ${ctx.state.root_token}`, 'x-tenant-id': ctx.state.tenant_id },
  ];
  for (const headers of reads) {
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${ctx.hearthUrl}/api/v1/persons/${id}`, { headers });
      if (!res.ok) throw new Error(`warm-up read: ${res.status} ${await res.text()}`);
    }
  }
}

export const consentCases: BenchCase[] = [
  {
    name: 'GET /api/v1/persons/{id}: consent-bound reader vs ROOT (consent check skipped), both Hearth',
    setup: ensureConsentRead,
    baselineOnHearth: true,
    hearth: (ctx) => ({
      method: 'GET',
      path: `/api/v1/persons/${ctx.state.consent_person_id}`,
      headers: { authorization: `Bearer ${ctx.state.bound_token}` },
    }),
    baseline: (ctx) => ({
      method: 'GET',
      path: `/api/v1/persons/${ctx.state.consent_person_id}`,
      headers: { authorization: `Bearer ${ctx.state.root_token}`, 'x-tenant-id': ctx.state.tenant_id },
    }),
  },
];
