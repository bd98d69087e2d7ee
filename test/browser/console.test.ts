import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { chromiumAvailable, launchBrowser, type TestBrowser, unlabelledInputs } from '../helpers/browser.js';

const hasChromium = chromiumAvailable();

describe.runIf(hasChromium)('staff console in Chromium', () => {
  let t: TestApp;
  let b: TestBrowser;
  let base: string;
  let page: Page;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    b = await launchBrowser();
    page = await b.context.newPage();
  });

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('sends a browser from / to the console, and an API caller gets a 404', async () => {
    const html = await fetch(`${base}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(html.status).toBe(302);
    expect(html.headers.get('location')).toBe('/console/');
    const api = await fetch(`${base}/`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { code: string }).code).toBe('ERR_NOT_FOUND');
    const asset = await fetch(`${base}/console/assets/nothing-here.js`);
    expect(asset.status).toBe(404);
    const deep = await fetch(`${base}/console/persons/123`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await deep.text()).toContain('<div id="root">');
  });

  it('shows the sign-in form with labelled inputs', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/console/sign-in`);
    await page.getByLabel('Username', { exact: true }).waitFor();
    await page.getByLabel('Password', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(await unlabelledInputs(page)).toEqual([]);
  });
});
