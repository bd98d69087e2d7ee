#!/usr/bin/env node
// node scripts/screenshots.mjs [--persons 1500] [--out docs/images]
// The README's screenshots: a throwaway embedded database filled by `hearth demo`, a few
// integrations moved along their lifecycle through the API, the server started on it, and
// Debian's Chromium (playwright-core, /usr/bin/chromium) signed in as a tenant admin taking the
// dashboard, a person page and the integration board.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    persons: { type: 'string', default: '1500' },
    out: { type: 'string', default: path.join(root, 'docs/images') },
  },
});
const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
const ROOT_CLIENT = { id: 'screenshots-root', secret: 'screenshots-root-secret-0123456789' };
const USER = { username: 'amina.njeri', password: 'Kisumu-Lake-Harbour-2026!', display: 'Amina Njeri' };

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status}`);
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-screens-'));
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const env = {
    ...process.env,
    HEARTH_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    HEARTH_PUBLIC_URL: base,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    HEARTH_ROOT_CLIENT_ID: ROOT_CLIENT.id,
    HEARTH_ROOT_CLIENT_SECRET: ROOT_CLIENT.secret,
  };
  delete env.DATABASE_URL;
  run(process.execPath, ['scripts/build-if-needed.mjs'], env);
  run(process.execPath, ['scripts/build-console.mjs'], env);
  run(
    process.execPath,
    [
      'bin/hearth.mjs',
      'demo',
      '--tenant',
      'demo',
      '--name',
      'Kisumu County pilot',
      '--persons',
      args.persons,
    ],
    env,
  );

  const server = spawn(process.execPath, ['bin/hearth.mjs', 'serve'], { cwd: root, env, stdio: 'inherit' });
  const browserProfile = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-screens-chromium-'));
  let context;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 120) throw new Error('the server did not become ready');
      await new Promise((r) => setTimeout(r, 500));
    }
    const personId = await prepare(base);

    context = await chromium.launchPersistentContext(browserProfile, {
      executablePath: CHROMIUM,
      headless: true,
      locale: 'en-US',
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${base}/console/`);
    await page.getByLabel('Username', { exact: true }).fill(USER.username);
    await page.getByLabel('Password', { exact: true }).fill(USER.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('img', { name: /^Registrations per month\./ }).waitFor();
    await page.getByRole('img', { name: /^Integrations by state\./ }).waitFor();
    await page.mouse.move(0, 0); // no tooltip in the picture
    await page.waitForTimeout(1000); // chart animations
    fs.mkdirSync(args.out, { recursive: true });
    await page.screenshot({ path: path.join(args.out, 'dashboard.png'), fullPage: true });

    await page.goto(`${base}/console/persons/${personId}`);
    await page.getByRole('heading', { level: 2 }).first().waitFor();
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(args.out, 'person.png'), fullPage: true });

    // The board's columns side by side need a wide window.
    await page.setViewportSize({ width: 1680, height: 900 });
    await page.goto(`${base}/console/integrations`);
    await page.getByText('Ministry of Health – clinic registry').first().waitFor();
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(args.out, 'integrations.png'), fullPage: true });
    process.stdout.write(`screenshots written to ${path.relative(root, args.out) || '.'}\n`);
  } finally {
    await context?.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    fs.rmSync(browserProfile, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The signed-in user, a handful of integrations in different states; returns a person to show. */
async function prepare(base) {
  async function api(token, method, url, body, headers = {}) {
    const res = await fetch(base + url, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }
  const token = async (id, secret) =>
    (
      await api(null, 'POST', '/oauth/token', {
        grant_type: 'client_credentials',
        client_id: id,
        client_secret: secret,
      })
    ).access_token;
  const rootToken = await token(ROOT_CLIENT.id, ROOT_CLIENT.secret);
  const tenants = await api(rootToken, 'GET', '/api/v1/tenants?limit=200');
  const tenant = tenants.data.find((t) => t.code === 'demo');
  const client = async (roles) => {
    const c = await api(rootToken, 'POST', '/api/v1/clients', {
      name: roles.join('+'),
      tenant_id: tenant.tenant_id,
      roles,
    });
    return token(c.client_id, c.client_secret);
  };
  const admin = await client(['tenant_admin']);
  const reviewer = await client(['reviewer']);
  const approver = await client(['approver']);
  await api(admin, 'POST', '/api/v1/users', {
    username: USER.username,
    password: USER.password,
    display_name: USER.display,
    roles: ['tenant_admin'],
  });
  const { data: verticals } = await api(admin, 'GET', '/api/v1/verticals');
  const vertical = (code) => verticals.find((v) => v.code === code)?.vertical_id ?? verticals[0].vertical_id;
  const since = new Date(Date.now() - 86_400_000).toISOString();
  const integration = (name, partner, partnerType, code) =>
    api(admin, 'POST', '/api/v1/integrations', {
      integration_name: name,
      partner_name: partner,
      partner_type: partnerType,
      vertical_ids: [vertical(code)],
      active_from: since,
    }).then((i) => i.integration_id);
  const request = (id) =>
    api(admin, 'POST', `/api/v1/integrations/${id}/request-review`, {
      request_reason_code: 'ROUTINE_REVIEW',
    });
  const review = (id) => api(reviewer, 'POST', `/api/v1/integrations/${id}/review`, {});
  const approve = (id) =>
    api(approver, 'POST', `/api/v1/integrations/${id}/approve`, { approval_reason_code: 'ROUTINE_REVIEW' });
  const activate = (id) => api(admin, 'POST', `/api/v1/integrations/${id}/activate`, {});

  const health = await integration(
    'Ministry of Health – clinic registry',
    'Ministry of Health',
    'government',
    'HEALTH',
  );
  await request(health);
  await review(health);
  await approve(health);
  await activate(health);
  const cash = await integration('Cash transfers – mobile money', 'M-Pesa Foundation', 'private', 'FIN');
  await request(cash);
  await review(cash);
  await approve(cash);
  const food = await integration('School feeding programme', 'World Food Programme', 'international', 'EDU');
  await request(food);
  await integration('National ID verification', 'National Registration Bureau', 'government', 'DATA');

  const households = await api(admin, 'GET', '/api/v1/households/search?limit=20');
  const withMembers = households.data.find((h) => (h.member_count ?? 0) >= 3) ?? households.data[0];
  return withMembers.leader_id;
}

await main();
