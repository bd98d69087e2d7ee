import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSON_COLUMNS, personsCsv } from '../src/imports/synthetic.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createPerson, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
let registrar: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  registrar = await a.client({ roles: ['registrar'] });
});
afterAll(() => t?.close());

const HEADER = PERSON_COLUMNS.join(',');
let seedCounter = 100;
const nextSeed = () => seedCounter++ + (process.pid % 500) * 1000;

async function text(gen: AsyncIterable<string>): Promise<string> {
  let s = '';
  for await (const part of gen) s += part;
  return s;
}

function upload(
  token: string | null,
  body: string | Buffer,
  query = '',
  type = 'text/csv',
  headers: Record<string, string> = {},
  app = t.app,
) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/persons/imports${query}`,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': type, ...headers },
    payload: body,
  });
}

interface View {
  import_id: string;
  status: string;
  dry_run: boolean;
  counts: Record<string, number>;
  progress: { phase: string; percent: number };
  error: string | null;
}

async function view(token: string, id: string): Promise<View> {
  const res = await call(t.app, token, 'GET', `/api/v1/persons/imports/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Uploads, runs the job to the end and returns the run. */
async function runImport(token: string, body: string | Buffer, query = '', type = 'text/csv'): Promise<View> {
  const res = await upload(token, body, query, type);
  expect(res.statusCode, res.body).toBe(202);
  await t.app.hearth.services.jobs.drain();
  return view(token, res.json().import_id);
}

async function allErrors(token: string, id: string) {
  const out: { row: number; field: string; code: string; message: string }[] = [];
  let cursor: string | null = null;
  do {
    const res = await call(
      t.app,
      token,
      'GET',
      `/api/v1/persons/imports/${id}/errors?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(res.statusCode, res.body).toBe(200);
    out.push(...res.json().data);
    cursor = res.json().next_cursor;
  } while (cursor);
  return out;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0].n;
}

const importedPersons = (tenant: TestTenant) =>
  count(`persons WHERE tenant_id = $1 AND collection_method = 'import'`, [tenant.tenantId]);

const row = (cells: Record<string, string>) => PERSON_COLUMNS.map((c) => cells[c] ?? '').join(',');
const good = (over: Record<string, string> = {}) =>
  row({
    full_name: 'Neema Atieno',
    date_of_birth: '1988-03-04',
    gender: '2',
    identity_type: 'national_id',
    identity_number: nid(),
    phone: '+254712345678',
    ...over,
  });

describe('person imports', () => {
  it('imports a 10,000-row CSV with provenance, versions, events and one audit event', async () => {
    const c = await createTestTenant(t);
    const csv = await text(personsCsv(10_000, nextSeed()));
    const run = await runImport(c.admin.token, csv, '?filename=census.csv');
    expect(run).toMatchObject({
      status: 'completed',
      counts: { rows_read: 10_000, valid: 10_000, created: 10_000, updated: 0, skipped: 0, rejected: 0 },
      progress: { phase: 'done', percent: 100 },
      error: null,
    });
    expect(await importedPersons(c)).toBe(10_000);
    expect(await count('person_identities WHERE tenant_id = $1', [c.tenantId])).toBe(10_000);
    expect(await count('person_contacts WHERE tenant_id = $1', [c.tenantId])).toBe(10_000);
    expect(
      await count(`record_versions WHERE tenant_id = $1 AND resource_type = 'person' AND change = 'create'`, [
        c.tenantId,
      ]),
    ).toBe(10_000);
    expect(await count(`outbox_events WHERE tenant_id = $1 AND type = 'person.created'`, [c.tenantId])).toBe(
      10_000,
    );
    const { rows } = await t.db.query<{ details: Record<string, unknown>; actor_id: string }>(
      `SELECT details, actor_id FROM audit_events WHERE tenant_id = $1 AND action = 'person.import'`,
      [c.tenantId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].actor_id).toBe(c.admin.clientId);
    expect(rows[0].details).toMatchObject({ created: 10_000, rejected: 0, rows_read: 10_000 });
    // Staging is scratch: gone once the run ended.
    expect(await count('person_import_rows WHERE tenant_id = $1', [c.tenantId])).toBe(0);
    expect(await count('person_import_chunks WHERE tenant_id = $1', [c.tenantId])).toBe(0);
    const p = await t.db.query<{ collection_method: string; created_by: string; full_name: string }>(
      'SELECT collection_method, created_by, full_name FROM persons WHERE tenant_id = $1 LIMIT 1',
      [c.tenantId],
    );
    expect(p.rows[0]).toMatchObject({ collection_method: 'import', created_by: c.admin.clientId });
    const list = await call(t.app, c.admin.token, 'GET', '/api/v1/persons/imports');
    expect(list.json().data.map((i: View) => i.import_id)).toEqual([run.import_id]);
  }, 180_000);

  it('reports bad rows one by one; best effort keeps the good rows', async () => {
    const registered = nid();
    await createPerson(t.app, a.admin.token, { identity_number: registered });
    const twice = nid();
    const lines = [
      HEADER,
      good(), // line 2
      good({ full_name: '' }), // 3: missing name
      good({ date_of_birth: '1990-02-30' }), // 4: bad date
      good({ gender: 'F' }), // 5: unknown gender
      good({ identity_number: twice }), // 6
      good({ identity_number: twice }), // 7: same identity as line 6
      good({ identity_number: registered }), // 8: registered already
      'Only Three,Cells,Here', // 9: wrong column count
    ];
    const latin1 = Buffer.from(`${good({ full_name: 'José Müller' })}\n`, 'latin1'); // 10: not UTF-8
    const body = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), latin1, Buffer.from(`${good()}\n`)]);
    const run = await runImport(registrar.token, body, '?mode=best_effort');
    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({ rows_read: 10, created: 3, rejected: 7, valid: 3 });
    const errors = await allErrors(registrar.token, run.import_id);
    const byRow = new Map(errors.map((e) => [e.row, e]));
    expect([...byRow.keys()]).toEqual([3, 4, 5, 7, 8, 9, 10]);
    expect(byRow.get(3)).toMatchObject({ field: 'full_name', code: 'ERR_VAL_MISSING_FIELD' });
    expect(byRow.get(4)).toMatchObject({ field: 'date_of_birth' });
    expect(byRow.get(5)).toMatchObject({ field: 'gender', message: expect.stringContaining('0, 1, 2, 9') });
    expect(byRow.get(7)).toMatchObject({ field: 'identity_number', code: 'ERR_CONFLICT' });
    expect(byRow.get(7)!.message).toContain('row 6');
    expect(byRow.get(8)).toMatchObject({ field: 'identity_number', code: 'ERR_CONFLICT' });
    expect(byRow.get(9)).toMatchObject({ field: '(row)', message: expect.stringContaining('3 columns') });
    expect(byRow.get(10)!.message).toContain('UTF-8');
    const csv = await t.app.inject({
      method: 'GET',
      url: `/api/v1/persons/imports/${run.import_id}/errors`,
      headers: { authorization: `Bearer ${registrar.token}`, accept: 'text/csv' },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const csvLines = csv.body.trim().split('\n');
    expect(csvLines[0]).toBe('row,field,code,message');
    expect(csvLines).toHaveLength(errors.length + 1);
  });

  it('a NUL byte inside a streamed row rejects that row (CSV and NDJSON) and keeps the rest', async () => {
    const c = await createTestTenant(t);
    const csv = [
      HEADER,
      good(),
      good({ full_name: 'Nul\u0000Name' }),
      good({ phone: '+2547\u000012345678' }),
      good(),
    ];
    const run = await runImport(c.admin.token, `${csv.join('\n')}\n`, '?mode=best_effort');
    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({ rows_read: 4, created: 2, rejected: 2 });
    const errors = await allErrors(c.admin.token, run.import_id);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, 'full_name'],
      [4, 'phone'],
    ]);
    expect(errors[0].message).toContain('NUL');
    const ndjson = [
      JSON.stringify({ full_name: 'Fine Person', date_of_birth: '1990-01-01', gender: '2' }),
      JSON.stringify({ full_name: 'Nul\u0000Json', date_of_birth: '1990-01-01', gender: '2' }),
    ].join('\n');
    const run2 = await runImport(c.admin.token, `${ndjson}\n`, '?mode=best_effort', 'application/x-ndjson');
    expect(run2.counts).toMatchObject({ rows_read: 2, created: 1, rejected: 1 });
    expect(await importedPersons(c)).toBe(3);
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM persons WHERE tenant_id = $1 AND full_name LIKE 'Nul%'`,
      [c.tenantId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('all or nothing: one bad row rolls the whole run back', async () => {
    const c = await createTestTenant(t);
    const csv = await text(personsCsv(300, nextSeed()));
    const run = await runImport(c.admin.token, `${csv}${good({ gender: 'X' })}\n`);
    expect(run.status).toBe('rolled_back');
    expect(run.counts).toMatchObject({ rows_read: 301, valid: 300, created: 0, rejected: 1 });
    expect(await importedPersons(c)).toBe(0);
    expect(await count('outbox_events WHERE tenant_id = $1', [c.tenantId])).toBe(0);
  });

  it('a dry run validates and counts but writes nothing', async () => {
    const c = await createTestTenant(t);
    const csv = await text(personsCsv(200, nextSeed()));
    const run = await runImport(c.admin.token, csv, '?dry_run=true');
    expect(run).toMatchObject({ status: 'completed', dry_run: true });
    expect(run.counts).toMatchObject({ created: 200, rejected: 0 });
    expect(await importedPersons(c)).toBe(0);
    expect(await count('person_identities WHERE tenant_id = $1', [c.tenantId])).toBe(0);
  });

  it('re-running the same file with on_duplicate=skip creates nothing twice; update changes persons', async () => {
    const c = await createTestTenant(t);
    const seed = nextSeed();
    const csv = await text(personsCsv(500, seed));
    expect((await runImport(c.admin.token, csv)).counts.created).toBe(500);
    const again = await runImport(c.admin.token, csv, '?on_duplicate=skip');
    expect(again).toMatchObject({ status: 'completed', counts: { created: 0, skipped: 500, rejected: 0 } });
    expect(await importedPersons(c)).toBe(500);
    const plain = await runImport(c.admin.token, csv);
    expect(plain).toMatchObject({ status: 'rolled_back', counts: { rejected: 500 } });

    const renamed = csv.replace(/^([A-Za-z]+) ([A-Za-z]+),/gm, (m, g: string, f: string, offset: number) =>
      offset === 0 ? m : `${g} ${f}-Updated,`,
    );
    const upd = await runImport(c.admin.token, renamed, '?on_duplicate=update&mode=best_effort');
    expect(upd).toMatchObject({ status: 'completed', counts: { created: 0, updated: 500, rejected: 0 } });
    const { rows } = await t.db.query<{ full_name: string; version_id: number; updated_by: string }>(
      `SELECT full_name, version_id, updated_by FROM persons WHERE tenant_id = $1 LIMIT 1`,
      [c.tenantId],
    );
    expect(rows[0].full_name).toMatch(/-Updated$/);
    expect(rows[0].version_id).toBe(2);
    expect(await count(`record_versions WHERE tenant_id = $1 AND change = 'update'`, [c.tenantId])).toBe(500);
    const same = await runImport(c.admin.token, renamed, '?on_duplicate=update');
    expect(same.counts).toMatchObject({ updated: 0, skipped: 500 });
    // skip and update need an identity on each row to find the existing person
    const noId = await runImport(
      c.admin.token,
      `${HEADER}\n${good({ identity_number: '', identity_type: '' })}\n`,
      '?on_duplicate=skip',
    );
    expect(noId.counts.rejected).toBe(1);
  }, 120_000);

  it('NDJSON rows use the POST /persons body; households and membership roles are checked', async () => {
    const leader = await createPerson(t.app, a.admin.token);
    const hh = await call(t.app, a.admin.token, 'POST', '/api/v1/households', {
      household_name: 'Import household',
      leader_id: leader.person_id,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const household = hh.json().household_id;
    const person = (over: Record<string, unknown>) =>
      JSON.stringify({
        full_name: 'Baraka Mwangi',
        date_of_birth: '2012-05-06',
        gender: '1',
        identity_type: 'birth_certificate',
        identity_number: nid(),
        ...over,
      });
    const lines = [
      person({ household_id: household, relationship_type: 'child' }), // 1
      person({ contacts: [{ type: 'email', value: 'baraka@example.org' }] }), // 2
      '{"full_name": "broken', // 3
      person({ nickname: 'Bara' }), // 4: unknown field
      person({ household_id: '01a00000-0000-7000-8000-000000000000' }), // 5: no such household
      person({ household_id: household, relationship_type: 'cousin' }), // 6: unknown role
      '', // blank lines are skipped
      person({ age_estimate: 30, date_of_birth: undefined }), // 8
    ];
    const run = await runImport(
      a.admin.token,
      `${lines.join('\n')}\n`,
      '?mode=best_effort',
      'application/x-ndjson',
    );
    expect(run.counts).toMatchObject({ rows_read: 7, created: 3, rejected: 4 });
    const errors = await allErrors(a.admin.token, run.import_id);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, '(row)'],
      [4, 'nickname'],
      [5, 'household_id'],
      [6, 'relationship_type'],
    ]);
    const members = await call(t.app, a.admin.token, 'GET', `/api/v1/households/${household}/members`);
    expect(members.statusCode, members.body).toBe(200);
    expect(
      members
        .json()
        .data.map((m: { relationship_type: string }) => m.relationship_type)
        .sort(),
    ).toEqual(['child', 'head']);
  });

  it('an Idempotency-Key names one run: replayed with the same file, refused with another', async () => {
    const c = await createTestTenant(t);
    const csv = await text(personsCsv(20, nextSeed()));
    const key = { 'idempotency-key': `imp-${nid()}` };
    const first = await upload(c.admin.token, csv, '', 'text/csv', key);
    expect(first.statusCode, first.body).toBe(202);
    const again = await upload(c.admin.token, csv, '', 'text/csv', key);
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().import_id).toBe(first.json().import_id);
    const other = await upload(c.admin.token, `${csv}${good()}\n`, '', 'text/csv', key);
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('ERR_IDEMPOTENCY_MISMATCH');
    await t.app.hearth.services.jobs.drain();
    expect(await importedPersons(c)).toBe(20);
    expect(await count('person_imports WHERE tenant_id = $1', [c.tenantId])).toBe(1);
  });
});

describe('person imports after a crash', () => {
  const CRASH_FN = `import_crash_${process.pid}`;

  async function armCrash(name: string): Promise<void> {
    await t.db.exec(`
      CREATE OR REPLACE FUNCTION ${CRASH_FN}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.full_name = '${name}' THEN RAISE EXCEPTION 'simulated crash'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER ${CRASH_FN} BEFORE INSERT ON persons FOR EACH ROW EXECUTE FUNCTION ${CRASH_FN}();`);
  }
  const disarm = () =>
    t.db.exec(`DROP TRIGGER IF EXISTS ${CRASH_FN} ON persons; DROP FUNCTION IF EXISTS ${CRASH_FN}();`);

  /** The worker "died" holding the claim: the job is running with an expired lock. */
  async function killWorker(importId: string): Promise<void> {
    await t.db.query(
      `UPDATE jobs SET status = 'running', run_at = now(), locked_by = 'dead-worker', locked_until = now() - interval '1 second'
        WHERE payload->>'import_id' = $1`,
      [importId],
    );
  }

  for (const mode of ['best_effort', 'all_or_nothing'] as const) {
    it(`a ${mode} run killed mid-way is finished on restart, each row applied once`, async () => {
      const c = await createTestTenant(t);
      const imports = t.app.hearth.services.imports;
      imports.configure({ applyRows: 100 });
      try {
        const crashName = `Crash ${nid()}`;
        const csv = await text(personsCsv(450, nextSeed()));
        const lines = csv.trimEnd().split('\n');
        lines.splice(300, 0, good({ full_name: crashName })); // data row 300: the third apply step
        await armCrash(crashName);
        const res = await upload(c.admin.token, `${lines.join('\n')}\n`, `?mode=${mode}`);
        expect(res.statusCode).toBe(202);
        const id = res.json().import_id;
        try {
          await t.app.hearth.services.jobs.drain(1);
        } finally {
          await disarm();
        }
        const cut = await view(c.admin.token, id);
        expect(cut.status).toBe('running');
        expect(await importedPersons(c)).toBe(mode === 'best_effort' ? 200 : 0);
        await killWorker(id);
        await imports.recover(true);
        await t.app.hearth.services.jobs.drain();
        const done = await view(c.admin.token, id);
        expect(done).toMatchObject({ status: 'completed', counts: { created: 451, rejected: 0 } });
        expect(await importedPersons(c)).toBe(451);
        expect(
          await count(`outbox_events WHERE tenant_id = $1 AND type = 'person.created'`, [c.tenantId]),
        ).toBe(451);
      } finally {
        imports.configure({ applyRows: t.db.kind === 'postgres' ? 20_000 : 2_000 });
      }
    }, 60_000);
  }

  it('a run whose job failed for good is closed as failed, never left open', async () => {
    const c = await createTestTenant(t);
    const csv = await text(personsCsv(10, nextSeed()));
    const res = await upload(c.admin.token, csv);
    const id = res.json().import_id;
    await t.db.query(`UPDATE person_imports SET status = 'validating' WHERE id = $1`, [id]);
    await t.db.query(
      `UPDATE jobs SET status = 'failed', last_error = 'worker out of memory', finished_at = now()
        WHERE payload->>'import_id' = $1`,
      [id],
    );
    await t.app.hearth.services.imports.recover();
    const closed = await view(c.admin.token, id);
    expect(closed).toMatchObject({ status: 'failed', error: 'worker out of memory' });
    expect(await count('person_import_chunks WHERE tenant_id = $1', [c.tenantId])).toBe(0);
  });
});

describe('person import refusals', () => {
  const small = `${HEADER}\n${good()}\n`;

  it('needs a token, the persons:write scope and a client that is not consent-bound', async () => {
    expect((await upload(null, small)).statusCode).toBe(401);
    const auditor = await a.client({ roles: ['auditor'] });
    expect((await upload(auditor.token, small)).statusCode).toBe(403);
    const bound = await a.client({ roles: ['registrar'], consent_bound: true });
    expect((await upload(bound.token, small)).statusCode).toBe(403);
    const run = await upload(a.admin.token, small);
    const id = run.json().import_id;
    expect((await call(t.app, null, 'GET', `/api/v1/persons/imports/${id}`)).statusCode).toBe(401);
    expect((await call(t.app, auditor.token, 'GET', `/api/v1/persons/imports/${id}`)).statusCode).toBe(403);
    await t.app.hearth.services.jobs.drain();
  });

  it("another tenant's run is not found, like a missing one", async () => {
    const run = await upload(a.admin.token, small);
    const id = run.json().import_id;
    await t.app.hearth.services.jobs.drain();
    for (const url of [`/api/v1/persons/imports/${id}`, `/api/v1/persons/imports/${id}/errors`]) {
      const res = await call(t.app, b.admin.token, 'GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('ERR_NOT_FOUND');
    }
    expect((await call(t.app, a.admin.token, 'GET', `/api/v1/persons/imports/${nid()}`)).statusCode).toBe(
      400,
    );
  });

  it('refuses malformed files at once and keeps nothing', async () => {
    const before = await count('person_import_chunks WHERE tenant_id = $1', [a.tenantId]);
    const imports = await count('person_imports WHERE tenant_id = $1', [a.tenantId]);
    const cases: [string | Buffer, string, number, string][] = [
      [`${HEADER}\n"Unclosed quote,1990-01-01,2\n`, 'text/csv', 400, 'ERR_MALFORMED_BODY'],
      [`${HEADER},shoe_size\n${good()},42\n`, 'text/csv', 422, 'ERR_VAL_INVALID_FORMAT'],
      ['given_name,gender\nA,2\n', 'text/csv', 422, 'ERR_VAL_INVALID_FORMAT'],
      [`${HEADER}\n`, 'text/csv', 422, 'ERR_VAL_MISSING_FIELD'],
      ['', 'text/csv', 400, 'ERR_MALFORMED_BODY'],
      [JSON.stringify({ full_name: 'A' }), 'application/json', 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [body, type, status, code] of cases) {
      const res = await upload(a.admin.token, body, '', type);
      expect(res.statusCode, `${type} ${String(body).slice(0, 40)}: ${res.body}`).toBe(status);
      expect(res.json().code).toBe(code);
    }
    const unknownOption = await upload(a.admin.token, small, '?mode=sometimes');
    expect(unknownOption.statusCode).toBe(400);
    const extra = await upload(a.admin.token, small, '?colour=blue');
    expect(extra.statusCode).toBe(400);
    expect(await count('person_import_chunks WHERE tenant_id = $1', [a.tenantId])).toBe(before);
    expect(await count('person_imports WHERE tenant_id = $1', [a.tenantId])).toBe(imports);
  });

  it('refuses a file over HEARTH_IMPORT_MAX_BYTES with 413', async () => {
    const tiny = await createTestApp({ HEARTH_IMPORT_MAX_BYTES: '2048' });
    try {
      const c = await createTestTenant(tiny);
      const csv = await text(personsCsv(100, nextSeed()));
      const res = await upload(c.admin.token, csv, '', 'text/csv', {}, tiny.app);
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('ERR_PAYLOAD_TOO_LARGE');
      expect(await count('person_import_chunks WHERE tenant_id = $1', [c.tenantId])).toBe(0);
    } finally {
      await tiny.close();
    }
  });
});
