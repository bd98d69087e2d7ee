import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutralizeCell } from '../src/integrations/formats/csv.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

describe('CSV neutralisation: one function for every text cell', () => {
  it('neutralises formulas, also after leading white space or a line break, and in full-width form', () => {
    const cases: [string, string][] = [
      ['=1+2', "'=1+2"],
      [' =1+2', "' =1+2"],
      ['\n=HYPERLINK("x")', '\'\n=HYPERLINK("x")'],
      ['\r@SUM(A1)', "'\r@SUM(A1)"],
      ['\tname', "'\tname"],
      ['\nAmina', "'\nAmina"],
      ['+254700000000', "'+254700000000"],
      ['-5', "'-5"],
      ['＝1+2', "'＝1+2"],
      ['  ＠x', "'  ＠x"],
      ['Amina Wanjiru', 'Amina Wanjiru'],
      [' Amina', ' Amina'],
      ['a=b', 'a=b'],
      ['', ''],
    ];
    for (const [input, out] of cases) expect(neutralizeCell(input), JSON.stringify(input)).toBe(out);
  });
});

describe('allowed_programs is checked against the tenant’s programmes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  async function program(tenant: TestTenant): Promise<string> {
    const res = await call(t.app, tenant.admin.token, 'POST', '/api/v1/programs', {
      name: 'Cash transfer',
      code: `P-${randomBytes(4).toString('hex')}`,
      vertical_id: tenant.verticals.HEALTH,
      target_type: 'individual',
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().program_id;
  }

  it('refuses another tenant’s programme and a random id; accepts its own', async () => {
    const [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
    const mine = await program(a);
    const theirs = await program(b);
    for (const id of [theirs, randomUUID()]) {
      const res = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
        name: 'limited',
        roles: ['registrar'],
        allowed_programs: [mine, id],
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().errors[0]).toMatchObject({ field: 'allowed_programs' });
      expect(res.json().errors[0].message).toContain(id);
    }
    const ok = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'limited',
      roles: ['registrar'],
      allowed_programs: [mine],
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().allowed_programs).toEqual([mine]);
  });
});
