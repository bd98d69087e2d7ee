/**
 * Time for /docs to render in headless Chromium: from navigation to the Hearth title and every
 * tag of the reference painted (operations folded, as a newcomer first sees the page).
 *
 *   npx tsx bench/docs-render.ts [--runs 5] [--chromium /usr/bin/chromium]
 *
 * Starts Hearth in-process on an in-memory PGlite and a free port; drives Debian's Chromium
 * through playwright-core (which downloads no browser). Each run uses a fresh browser context
 * (no cache) and also reports the size of /openapi.json.
 */
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/open.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '5'));
  const executablePath = arg('chromium', '/usr/bin/chromium');
  const db = await openPglite('memory://');
  await migrate(db);
  const config = loadConfig({ LOG_LEVEL: 'warn', HEARTH_WORKERS: 'false', PORT: '0' });
  const app = await buildApp({ config, db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const spec = await fetch(`${base}/openapi.json`);
  const specBytes = (await spec.arrayBuffer()).byteLength;
  const tags = ((await (await fetch(`${base}/openapi.json`)).json()) as { tags: unknown[] }).tags.length;

  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${base}/docs`);
      await page.getByText('Hearth API', { exact: false }).first().waitFor();
      await page.waitForFunction(`document.querySelectorAll('.opblock-tag-section').length >= ${tags}`);
      times.push(performance.now() - started);
      await context.close();
    }
  } finally {
    await browser.close();
    await app.close();
    await db.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    `/docs rendered (title and ${tags} tags) in median ${median.toFixed(0)} ms over ${runs} runs ` +
      `(min ${times[0].toFixed(0)}, max ${times.at(-1)?.toFixed(0)}); /openapi.json ${(specBytes / 1024).toFixed(0)} KiB`,
  );
}

await main();
