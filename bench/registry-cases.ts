// Registry cases: a person read (with the consent decision), a person create, and a radius search
// over 100,000 households, each beside the same SQL through the bare baseline.
import pg from 'pg';
import type { BaselineRoute, BenchCase, BenchContext } from './cases.js';
import { ensureTenant, post } from './cases.js';

const HOUSEHOLDS = Number(process.env.BENCH_HOUSEHOLDS ?? 100_000);
// Nairobi; the synthetic households spread over Kenya's bounding box.
const CENTER = { lat: -1.29, lon: 36.82, radiusKm: 20 };
let counter = 0;

async function upload(ctx: BenchContext, content: string, type: string): Promise<string> {
  const res = await fetch(`${ctx.hearthUrl}/api/v1/attachments?filename=bench`, {
    method: 'POST',
    headers: { ...ctx.auth, 'content-type': type },
    body: content,
  });
  if (!res.ok) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { attachment_id: string }).attachment_id;
}

/** One verified person with an active HEALTH consent, as staff would register them. */
async function ensurePerson(ctx: BenchContext): Promise<void> {
  await ensureTenant(ctx);
  if (ctx.state.person_id) return;
  const token = ctx.state.admin_token;
  const person = await post(
    ctx,
    '/api/v1/persons',
    {
      full_name: 'Bench Person',
      date_of_birth: '1988-03-14',
      gender: '2',
      identity_type: 'national_id',
      identity_number: `BENCH${Date.now()}`,
      contacts: [{ type: 'phone', value: '+254712345678' }],
    },
    token,
  );
  const personId = person.person_id as string;
  await post(ctx, `/api/v1/persons/${personId}/verify`, {}, ctx.state.verifier_token);
  const verticals = await fetch(`${ctx.hearthUrl}/api/v1/verticals`, { headers: ctx.auth });
  const health = ((await verticals.json()) as { data: { vertical_id: string; code: string }[] }).data.find(
    (v) => v.code === 'HEALTH',
  );
  await post(
    ctx,
    `/api/v1/persons/${personId}/consents`,
    {
      vertical_id: health?.vertical_id,
      active_from: new Date(Date.now() - 60_000).toISOString(),
      capture_mode: 'online',
      evidence_attachment_ids: [await upload(ctx, 'signature', 'image/png')],
      verification_document_attachment_id: await upload(ctx, 'id-scan', 'application/pdf'),
      captured_by: 'bench',
    },
    token,
  );
  ctx.state.person_id = personId;
  ctx.state.health_vertical_id = health?.vertical_id ?? '';
}

/** 100,000 verified leaders with consent and their households, written set-wise in SQL. */
async function ensureHouseholds(ctx: BenchContext): Promise<void> {
  await ensurePerson(ctx);
  if (ctx.state.households_seeded) return;
  const c = new pg.Client({ connectionString: ctx.databaseUrl });
  await c.connect();
  try {
    const tenant = ctx.state.tenant_id;
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO persons (tenant_id, id, system_guid, full_name, date_of_birth, gender, verification_status, collection_method)
       SELECT $1, gen_random_uuid(), gen_random_uuid(), 'Bench Leader ' || g, date '1960-01-01' + (g % 15000),
              CASE WHEN g % 2 = 0 THEN '1' ELSE '2' END, 'verified', 'import'
         FROM generate_series(1, $2::int) g`,
      [tenant, HOUSEHOLDS],
    );
    await c.query(
      `INSERT INTO households (tenant_id, id, household_name, leader_id, status, geo_lat, geo_lon, group_kind, collection_method)
       SELECT $1, gen_random_uuid(), 'Bench household ' || p.full_name, p.id, 'verified',
              -4.5 + random() * 9, 34 + random() * 7.5, 'household', 'import'
         FROM persons p WHERE p.tenant_id = $1 AND p.full_name LIKE 'Bench Leader %'`,
      [tenant],
    );
    await c.query(
      `INSERT INTO consents (tenant_id, id, person_id, vertical_id, status, active_from, capture_mode, captured_by)
       SELECT $1, gen_random_uuid(), p.id, $2, 'active', now() - interval '1 day', 'online', 'bench'
         FROM persons p WHERE p.tenant_id = $1 AND p.full_name LIKE 'Bench Leader %'`,
      [tenant, ctx.state.health_vertical_id],
    );
    await c.query('COMMIT');
    await c.query('ANALYZE persons; ANALYZE households; ANALYZE consents');
  } finally {
    await c.end();
  }
  ctx.state.households_seeded = 'yes';
}

function newPersonBody(): string {
  counter++;
  return JSON.stringify({
    full_name: `Load Test ${counter}`,
    date_of_birth: '1990-04-12',
    gender: '2',
    identity_type: 'national_id',
    identity_number: `LT${process.pid}${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 8)}`,
  });
}

export const registryCases: BenchCase[] = [
  {
    name: 'GET /api/v1/persons/{id} (consent decision and masking)',
    setup: ensurePerson,
    hearth: (ctx) => ({ method: 'GET', path: `/api/v1/persons/${ctx.state.person_id}`, headers: ctx.auth }),
    baseline: (ctx) => ({ method: 'GET', path: `/persons/${ctx.state.tenant_id}/${ctx.state.person_id}` }),
  },
  {
    name: 'POST /api/v1/persons',
    setup: ensureTenant,
    hearth: (ctx) => ({
      method: 'POST',
      path: '/api/v1/persons',
      headers: ctx.auth,
      makeBody: newPersonBody,
    }),
    baseline: (ctx) => ({ method: 'POST', path: `/persons/${ctx.state.tenant_id}`, makeBody: newPersonBody }),
  },
  {
    name: `GET /api/v1/households/search radius ${CENTER.radiusKm} km over ${HOUSEHOLDS} households`,
    setup: ensureHouseholds,
    hearth: (ctx) => ({
      method: 'GET',
      path: `/api/v1/households/search?lat=${CENTER.lat}&lon=${CENTER.lon}&radius_km=${CENTER.radiusKm}&limit=50`,
      headers: ctx.auth,
    }),
    baseline: (ctx) => ({ method: 'GET', path: `/households-near/${ctx.state.tenant_id}` }),
  },
];

export const registryBaselineRoutes: BaselineRoute[] = [
  {
    method: 'GET',
    url: '/persons/:tenant_id/:person_id',
    handle: async (pool, params) => {
      const { rows } = await pool.query(
        `SELECT p.*,
                COALESCE((SELECT json_agg(json_build_object('identity_type', i.identity_type, 'identity_number', i.identity_number))
                            FROM person_identities i WHERE i.tenant_id = p.tenant_id AND i.person_id = p.id AND i.removed_at IS NULL), '[]') AS identities,
                COALESCE((SELECT json_agg(json_build_object('type', c.type, 'value', c.value))
                            FROM person_contacts c WHERE c.tenant_id = p.tenant_id AND c.person_id = p.id AND c.removed_at IS NULL), '[]') AS contacts
           FROM persons p WHERE p.tenant_id = $1 AND p.id = $2`,
        [params.tenant_id, params.person_id],
      );
      return rows[0];
    },
  },
  {
    method: 'POST',
    url: '/persons/:tenant_id',
    handle: async (pool, params, body, reply) => {
      const b = body as {
        full_name: string;
        date_of_birth: string;
        gender: string;
        identity_type: string;
        identity_number: string;
      };
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const { rows } = await c.query(
          `INSERT INTO persons (tenant_id, id, system_guid, full_name, date_of_birth, gender)
           VALUES ($1, gen_random_uuid(), gen_random_uuid(), $2, $3, $4) RETURNING id, system_guid, created_at`,
          [params.tenant_id, b.full_name, b.date_of_birth, b.gender],
        );
        await c.query(
          `INSERT INTO person_identities (tenant_id, id, person_id, identity_type, identity_number, identity_key)
           VALUES ($1, gen_random_uuid(), $2, $3, $4, upper($4))`,
          [params.tenant_id, rows[0].id, b.identity_type, b.identity_number],
        );
        await c.query('COMMIT');
        reply.code(201);
        return { person_id: rows[0].id, system_guid: rows[0].system_guid, created_at: rows[0].created_at };
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      } finally {
        c.release();
      }
    },
  },
  {
    method: 'GET',
    url: '/households-near/:tenant_id',
    handle: async (pool, params) => {
      const { rows } = await pool.query(
        `SELECT h.*, earth_distance(ll_to_earth(h.geo_lat, h.geo_lon), ll_to_earth($2, $3)) AS distance_m
           FROM households h
          WHERE h.tenant_id = $1 AND h.geo_lat IS NOT NULL
            AND earth_box(ll_to_earth($2, $3), $4) @> ll_to_earth(h.geo_lat, h.geo_lon)
            AND earth_distance(ll_to_earth(h.geo_lat, h.geo_lon), ll_to_earth($2, $3)) <= $4
          ORDER BY distance_m, h.id LIMIT 50`,
        [params.tenant_id, CENTER.lat, CENTER.lon, CENTER.radiusKm * 1000],
      );
      return { data: rows };
    },
  },
];
