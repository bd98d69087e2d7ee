import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personsCsv } from '../../src/imports/synthetic.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { chromiumAvailable, launchBrowser, type TestBrowser, unlabelledInputs } from '../helpers/browser.js';
import { createPerson } from '../helpers/registry.js';
import { call, createTestTenant, type TestTenant } from '../helpers/tenant.js';

/**
 * The staff journeys of issue 16, in Debian's Chromium against a real server on the embedded (or
 * PostgreSQL) database. Users and browser sessions come from issue 15 (`POST /api/v1/users`,
 * `POST /auth/login`).
 */
const hasChromium = chromiumAvailable();

interface TestUser {
  username: string;
  password: string;
}

describe.runIf(hasChromium)('staff journeys in the console', () => {
  let t: TestApp;
  let b: TestBrowser;
  let base: string;
  let tenant: TestTenant;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    tenant = await createTestTenant(t);
    b = await launchBrowser();
  });

  afterAll(async () => {
    await b?.close();
    await t?.app.hearth.services.jobs.stop();
    await t?.close();
  });

  async function user(roles: string[]): Promise<TestUser> {
    const username = `${roles[0].replace('_', '-')}-${Math.random().toString(36).slice(2, 8)}`;
    const password = `Pw-${Math.random().toString(36).slice(2)}-x9!Q`;
    const res = await call(t.app, tenant.admin.token, 'POST', '/api/v1/users', {
      username,
      password,
      roles,
      display_name: username,
    });
    expect(res.statusCode, res.body).toBe(201);
    return { username, password };
  }

  async function newPage(): Promise<Page> {
    const page = await b.context.newPage();
    page.setDefaultTimeout(15_000);
    if (process.env.HEARTH_BROWSER_DEBUG) {
      page.on('response', (r) => {
        if (r.status() >= 400) {
          void r
            .text()
            .catch(() => '')
            .then((body) =>
              process.stderr.write(
                `${r.status()} ${r.request().method()} ${r.url()} ${body.slice(0, 300)}\n`,
              ),
            );
        }
      });
      page.on('console', (m) => process.stderr.write(`console: ${m.text()}\n`));
    }
    return page;
  }

  async function signIn(u: TestUser): Promise<Page> {
    const page = await newPage();
    await page.context().clearCookies();
    await page.goto(`${base}/console/`);
    await page.getByLabel('Username', { exact: true }).fill(u.username);
    await page.getByLabel('Password', { exact: true }).fill(u.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return page;
  }

  it('refuses a wrong password with a message, then signs in and out', async () => {
    const u = await user(['registrar']);
    const page = await newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel('Username', { exact: true }).fill(u.username);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(u.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toContain(u.username);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username', { exact: true }).waitFor();
    // The cookie is gone with the session: reloading stays on the sign-in page.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await page.close();
  });

  it('registers a household with two members, then captures and verifies a consent with evidence', async () => {
    const registrar = await user(['registrar', 'reviewer']);
    const page = await signIn(registrar);
    await page.getByRole('link', { name: 'Households' }).click();
    await page.getByRole('link', { name: 'Register a household' }).click();
    await page.getByLabel('Household name').fill('Famille Diallo');
    await page.getByLabel('Full name').fill('Awa Diallo');
    await page.getByLabel('Gender').selectOption({ label: 'Female' });
    await page.getByLabel('Date of birth').fill('1985-04-12');
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Register household' }).click();
    await page.getByRole('heading', { name: 'Famille Diallo' }).waitFor();

    // A validation message from the API appears next to its field: no gender chosen.
    await page.getByLabel('Full name').fill('Moussa Diallo');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByText('is required').first().waitFor();
    await page.getByLabel('Gender').selectOption({ label: 'Male' });
    await page.getByLabel('Date of birth').fill('2012-09-01');
    await page.getByLabel('Role in household').selectOption({ label: 'Child' });
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByTestId('member-row').nth(1).waitFor();
    const members = await page.getByTestId('member-row').allTextContents();
    expect(members).toHaveLength(2);
    expect(members.join(' ')).toContain('Awa Diallo');
    expect(members.join(' ')).toContain('Moussa Diallo');

    // Consent: the person is verified first (the API refuses consent for provisional persons).
    await page.getByRole('link', { name: 'Awa Diallo' }).click();
    await page.getByRole('button', { name: 'Verify person' }).click();
    await page.getByText('Verified', { exact: true }).first().waitFor();
    await page.getByRole('tab', { name: 'Consents' }).click();
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    await page
      .locator('input[type=file]')
      .nth(0)
      .setInputFiles({ name: 'signature.png', mimeType: 'image/png', buffer: png });
    await page
      .locator('input[type=file]')
      .nth(1)
      .setInputFiles({ name: 'id-card.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('button', { name: 'Capture consent' }).click();
    await page.getByTestId('consent-row').first().getByText('Pending').waitFor();
    const personId = page.url().split('/').pop()!;
    // The reviewer's work list shows the pending consent; its link leads back to the person.
    await page.getByRole('link', { name: 'Consents', exact: true }).click();
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await page.getByRole('link', { name: personId.slice(0, 8) }).click();
    await page.getByRole('tab', { name: 'Consents' }).click();
    const row = page.getByTestId('consent-row').first();
    await row.getByText('Pending').waitFor();
    await row.getByRole('button', { name: 'Verify' }).click();
    await row.getByText('Active').waitFor();

    const consents = await call(t.app, tenant.admin.token, 'GET', `/api/v1/persons/${personId}/consents`);
    expect(consents.json().data.map((c: { status: string }) => c.status)).toEqual(['active']);
    await page.close();
  }, 120_000);

  it('imports a 1,000-row CSV and follows the job to its end, with the row errors listed', async () => {
    // The import runs as a background job, as in the server.
    t.app.hearth.services.jobs.start();
    const lines: string[] = [];
    for await (const chunk of personsCsv(1000, 16)) lines.push(chunk);
    let csv = lines.join('');
    // One row with an impossible birth date: best effort keeps the 999 others and reports it.
    const rows = csv.split('\n');
    const cells = rows[5].split(',');
    const dob = rows[0].split(',').indexOf('date_of_birth');
    cells[dob] = '2001-13-45';
    rows[5] = cells.join(',');
    csv = rows.join('\n');

    const page = await signIn(await user(['registrar']));
    await page.getByRole('link', { name: 'Imports' }).click();
    await page
      .locator('input[type=file]')
      .setInputFiles({ name: 'persons.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Upload and import' }).click();
    const progress = page.getByTestId('import-progress');
    await progress.waitFor();
    await page
      .locator('[data-testid="import-progress"][data-status="completed"]')
      .waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('count-rows_read').textContent()).toBe('1000');
    expect(await page.getByTestId('count-created').textContent()).toBe('999');
    expect(await page.getByTestId('count-rejected').textContent()).toBe('1');
    const errors = await page.getByTestId('import-error').allTextContents();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('date_of_birth');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download errors (CSV)' }).click();
    const file = await (await download).path();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8')).toContain('date_of_birth');
    await page.close();
  }, 180_000);

  it('takes an integration from draft to active with three users, separation of duties shown', async () => {
    const manager = await user(['tenant_admin']);
    const reviewer = await user(['reviewer']);
    const approver = await user(['approver']);

    let page = await signIn(manager);
    await page.getByRole('link', { name: 'Integrations' }).click();
    await page.getByLabel('Integration name').fill('Mobile money payments');
    await page.getByLabel('Partner', { exact: true }).fill('PayCo');
    await page.getByTestId('vertical-choices').getByRole('checkbox').first().check();
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create draft' }).click();
    const card = page.getByTestId('integration-card').filter({ hasText: 'Mobile money payments' });
    await card.and(page.locator('[data-status="draft"]')).waitFor();
    await card.getByRole('button', { name: 'Request review' }).click();
    // OTHER needs a comment: the API's message shows in the dialog until one is given.
    await page.getByRole('dialog').getByRole('button', { name: 'Request review' }).click();
    await page.getByRole('dialog').getByText('request_reason_text is required').waitFor();
    await page.getByRole('dialog').getByLabel('Reason').selectOption('PARTNER_REQUEST');
    await page.getByRole('dialog').getByRole('button', { name: 'Request review' }).click();
    await card.and(page.locator('[data-status="requested"]')).waitFor();
    // The requester is a tenant admin and could review: the board says why it may not.
    await card.getByTestId('sod-note').filter({ hasText: 'You requested it' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.close();

    page = await signIn(reviewer);
    await page.getByRole('link', { name: 'Integrations' }).click();
    const reviewCard = page.getByTestId('integration-card').filter({ hasText: 'Mobile money payments' });
    expect(await reviewCard.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await reviewCard.getByRole('button', { name: 'Mark reviewed' }).click();
    await reviewCard.and(page.locator('[data-status="reviewed"]')).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.close();

    page = await signIn(approver);
    await page.getByRole('link', { name: 'Integrations' }).click();
    const approveCard = page.getByTestId('integration-card').filter({ hasText: 'Mobile money payments' });
    await approveCard.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog').getByLabel('Reason').selectOption('ROUTINE_REVIEW');
    await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await approveCard.and(page.locator('[data-status="approved"]')).waitFor();
    expect(await approveCard.getByRole('button', { name: 'Activate' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.close();

    page = await signIn(manager);
    await page.getByRole('link', { name: 'Integrations' }).click();
    const activateCard = page.getByTestId('integration-card').filter({ hasText: 'Mobile money payments' });
    await activateCard.getByRole('button', { name: 'Activate' }).click();
    const secret = (await page.getByTestId('client-secret').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(16);
    await page.getByRole('button', { name: 'Close' }).first().click();
    await activateCard.and(page.locator('[data-status="active"]')).waitFor();
    await page.close();

    const list = await call(t.app, tenant.admin.token, 'GET', '/api/v1/integrations');
    const made = list
      .json()
      .data.find((i: { integration_name: string }) => i.integration_name === 'Mobile money payments');
    expect(made.status).toBe('active');
    expect(new Set([made.requested_by, made.reviewed_by, made.approved_by]).size).toBe(3);
  }, 120_000);

  it('a tenant admin adds a user, hands over the one-time password, and deactivates the user', async () => {
    const admin = await user(['tenant_admin']);
    const page = await signIn(admin);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    const clerk = `clerk-${Math.random().toString(36).slice(2, 8)}`;
    await page.getByLabel('Username').fill(clerk);
    await page.getByLabel('Display name').fill('Clerk Mwangi');
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create user' }).click();
    const shown = page.getByTestId('one-time-password');
    await shown.waitFor();
    const oneTime = (await shown.locator('code').textContent())!.trim();
    expect(oneTime.length).toBeGreaterThan(8);
    const row = page.getByTestId('user-row').filter({ hasText: clerk });
    await row.waitFor();
    await page.getByRole('button', { name: `Deactivate ${clerk}` }).click();
    await row.getByText('Disabled').waitFor();
    const list = await call(t.app, tenant.admin.token, 'GET', '/api/v1/users?limit=200');
    const saved = list.json().data.find((u: { username: string }) => u.username === clerk);
    expect(saved).toMatchObject({ active: false, password_must_change: true, display_name: 'Clerk Mwangi' });
    await page.close();
  }, 60_000);

  it('enrols a person in a programme, moves the enrolment on and exits it with a reason', async () => {
    const programme = await call(t.app, tenant.admin.token, 'POST', '/api/v1/programs', {
      name: 'Bourse scolaire',
      code: `BS${Math.random().toString(36).slice(2, 7)}`,
      vertical_id: tenant.verticals.HEALTH,
      target_type: 'individual',
    });
    expect(programme.statusCode, programme.body).toBe(201);
    const person = await createPerson(t.app, tenant.admin.token, { full_name: 'Fatou Sow' });
    const registrar = await user(['registrar']);
    const page = await signIn(registrar);
    await page.getByRole('link', { name: 'Programmes' }).click();
    await page.getByRole('button', { name: 'Bourse scolaire' }).click();
    await page.getByLabel('Person ID').fill(person.person_id);
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Add to programme' }).click();
    const row = page.getByTestId('membership-row').first();
    await row.getByText('Draft').waitFor();
    await row.getByRole('button', { name: 'Enrol' }).click();
    await row.getByText('Enrolled').waitFor();
    await row.getByRole('button', { name: 'Exit' }).click();
    // OTHER, the first reason, needs a comment: the API says so in the dialog, then takes it.
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Exit' }).click();
    await dialog.getByText('reason_text is required').waitFor();
    await dialog.getByLabel('Comment').fill('Family moved away');
    await dialog.getByRole('button', { name: 'Exit' }).click();
    await row.getByText('Exited').waitFor();
    const list = await call(
      t.app,
      tenant.admin.token,
      'GET',
      `/api/v1/programs/${programme.json().program_id}/memberships`,
    );
    expect(list.json().data).toEqual([
      expect.objectContaining({
        beneficiary: person.person_id,
        status: 'exited',
        exit_reason: expect.any(String),
      }),
    ]);
    await page.close();
  }, 60_000);

  it('a tenant admin changes what auditors see and the classification of a field', async () => {
    const admin = await user(['tenant_admin']);
    const page = await signIn(admin);
    await page.getByRole('link', { name: 'Access policy' }).click();
    await page.getByRole('heading', { name: 'Access policy' }).waitFor();
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByLabel('Auditor: Personal fields').selectOption('registration');
    await page.getByRole('status').getByText('Saved.').waitFor();
    await page.getByLabel('birth_place', { exact: true }).selectOption('sensitive');
    await page.getByText('changed').first().waitFor();
    const res = await call(t.app, tenant.admin.token, 'GET', '/api/v1/access-policy');
    expect(res.json().role_field_access.auditor.personal).toBe('registration');
    expect(res.json().field_classification.birth_place).toBe('sensitive');
    // Put the tenant back for the other journeys.
    const back = await call(t.app, tenant.admin.token, 'PATCH', '/api/v1/access-policy', {
      role_field_access: { auditor: { personal: 'consent' } },
      field_classification: { birth_place: 'personal' },
    });
    expect(back.statusCode, back.body).toBe(200);
    await page.close();
  }, 60_000);

  it('verifies the audit chain as an auditor', async () => {
    const page = await signIn(await user(['auditor']));
    await page.getByRole('link', { name: 'Audit log' }).click();
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const result = page.getByTestId('chain-result');
    await result.waitFor();
    expect(await result.textContent()).toContain('The audit chain is intact');
    await page.close();
  }, 60_000);

  it('shows the registry figures on the dashboard, withholding breakdowns the role may not see', async () => {
    const expected = (await call(t.app, tenant.admin.token, 'GET', '/api/v1/stats/persons')).json();
    expect(expected.active).toBeGreaterThan(1000);
    let page = await signIn(await user(['tenant_admin']));
    const persons = page.getByRole('group', { name: 'Persons', exact: true });
    await persons.getByText(expected.active.toLocaleString('en'), { exact: true }).waitFor();
    await page.getByRole('group', { name: 'Consents expiring soon' }).waitFor();
    await page.getByRole('img', { name: /^Registrations per month\./ }).waitFor();
    await page.getByRole('img', { name: /^Active persons by age\./ }).waitFor();
    expect(await unlabelledInputs(page)).toEqual([]);
    await page.close();

    page = await signIn(await user(['auditor']));
    await page.getByRole('group', { name: 'Persons', exact: true }).waitFor();
    await page.getByText('Not shown: your role sees this field only under consent.').first().waitFor();
    expect(await page.getByRole('img', { name: /^Active persons by age\./ }).count()).toBe(0);
    await page.close();
  }, 60_000);
});
