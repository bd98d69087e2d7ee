import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { chromiumAvailable, launchBrowser, type TestBrowser } from '../helpers/browser.js';

const hasChromium = chromiumAvailable();
const PUBLIC_URL = 'https://registry.example.org';

// How fast the page renders is measured in bench/docs-render.ts, never asserted here.
describe.runIf(hasChromium)('/docs in Chromium', () => {
  let t: TestApp;
  let b: TestBrowser;
  let base: string;
  let page: Page;
  const outside: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ HEARTH_PUBLIC_URL: PUBLIC_URL });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    b = await launchBrowser();
    page = await b.context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) outside.push(r.url());
    });
    await page.goto(`${base}/docs`);
  });

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('is branded Hearth and names the public server URL', async () => {
    expect(await page.title()).toBe('Hearth API reference');
    await page.getByRole('heading', { level: 1, name: /Hearth API/ }).waitFor();
    await page.locator('code.server', { hasText: PUBLIC_URL }).waitFor();
  });

  it('shows the introduction: token, first person, consent, integration, pull', async () => {
    const intro = page.locator('#introduction');
    await intro.getByRole('heading', { name: 'Getting started: from a token to a first pull' }).waitFor();
    const text = (await intro.textContent()) ?? '';
    for (const step of [
      '1. Credentials.',
      '2. A token.',
      '3. A first person.',
      '4. A consent.',
      '5. An integration.',
      '6. A pull.',
    ]) {
      expect(text).toContain(step);
    }
    expect(text).toContain(
      `curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials ${PUBLIC_URL}/oauth/token`,
    );
  });

  it('lists the operations of every tag, folded, and opens one with its scopes and example', async () => {
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as {
      tags: { name: string }[];
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const operations = Object.values(spec.paths).flatMap((item) =>
      Object.values(item).filter((op) => typeof op === 'object' && op.operationId),
    );
    expect(await page.locator('details.op[data-id] > summary .method').count()).toBeGreaterThanOrEqual(
      operations.length,
    );
    for (const tag of spec.tags) {
      await page.locator(`section.tag#tag-${tag.name.replace(/[^A-Za-z0-9_-]+/g, '-')} h2`).waitFor();
    }

    const createPerson = page.locator('details[data-id=createPerson]');
    await createPerson.locator('summary').getByText('/api/v1/persons', { exact: true }).waitFor();
    expect(await createPerson.getAttribute('open')).toBeNull();
    await createPerson.locator('summary').click();
    await createPerson.getByText('Who may call:').waitFor();
    await createPerson.locator('.security code', { hasText: 'persons:write' }).waitFor();
    await createPerson.locator('pre.json', { hasText: 'Amina Wanjiru Otieno' }).first().waitFor();

    // A schema link leads to the schema's properties.
    await createPerson.getByRole('link', { name: 'PersonCreate' }).first().click();
    await page
      .locator('details[data-id=schema-PersonCreate][open] td code', { hasText: 'full_name' })
      .waitFor();
  });

  it('loads nothing from outside the server and runs no script', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).not.toContain('<script');
    expect(outside).toEqual([]);
  });

  it('keeps the interactive console at /docs/try', async () => {
    const res = await fetch(`${base}/docs/try`, { redirect: 'manual' });
    expect([200, 302]).toContain(res.status);
    await page.goto(`${base}/docs/try`);
    await page.locator('.swagger-ui .info .title', { hasText: 'Hearth API' }).waitFor({ timeout: 60_000 });
  });
});
