import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/build-console.mjs';

export const CHROMIUM_PATH = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Debian's Chromium is installed by .ci/run; a developer machine without it skips the browser
 * tests with a warning, while CI (CI=true) fails instead of silently running nothing.
 */
export function chromiumAvailable(): boolean {
  if (fs.existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM_PATH} is missing: .ci/run installs Debian's chromium`);
  process.stderr.write(`browser tests skipped: ${CHROMIUM_PATH} not found (apt-get install -y chromium)\n`);
  return false;
}

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh profile, no network chatter, English UI. */
export async function launchBrowser(): Promise<TestBrowser> {
  ensureConsoleBuilt();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    locale: 'en-US',
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser: context.browser() as Browser,
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Inputs without an accessible name, as the browser's accessibility tree computes it. */
export async function unlabelledInputs(page: Page): Promise<string[]> {
  const fields = page.locator('input:not([type=hidden]), select, textarea');
  const missing: string[] = [];
  for (const field of await fields.all()) {
    // Hidden inputs behind a visible control (a file input behind its button) are not reached by users.
    if (!(await field.isVisible())) continue;
    const name = await field.evaluate((el) => {
      const labelled = (el as unknown as { labels: { length: number } | null }).labels?.length ?? 0;
      return labelled > 0 || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
        ? 'ok'
        : el.outerHTML.slice(0, 120);
    });
    if (name !== 'ok') missing.push(name);
  }
  return missing;
}
