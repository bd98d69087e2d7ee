/**
 * Time for /docs to render in headless Chromium: from navigation until the introduction and the
 * operation list (every tag's operations, folded) are visible.
 *
 *   npx tsx bench/docs-render.ts [--runs 5] [--chromium /usr/bin/chromium] [--page reference|console|both]
 *
 * `reference` is /docs (server-rendered HTML, docs/decisions/0113); `console` is the interactive
 * Swagger UI at /docs/try, timed until every tag is painted. Starts Hearth in-process on an
 * in-memory PGlite and a free port; drives Debian's Chromium through playwright-core (which
 * downloads no browser), with the flags below. Each run uses a fresh browser context (no cache).
 * Also prints the browser's first contentful paint and load event, and the sizes of /docs and
 * /openapi.json. Performance is measured here, never asserted in tests.
 */
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/open.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type Ready = (page: Page, tags: string[]) => Promise<void>;

const pages: Record<string, { path: string; ready: Ready }> = {
  reference: {
    path: '/docs',
    ready: async (page, tags) => {
      await page.locator('#introduction h3').first().waitFor();
      // The last tag's operations are the last of the list to be laid out.
      const last = tags.at(-1)!.replace(/[^A-Za-z0-9_-]+/g, '-');
      await page.locator(`#tag-${last} details.op > summary`).first().waitFor();
    },
  },
  console: {
    path: '/docs/try',
    ready: async (page, tags) => {
      await page.locator('.swagger-ui .info').first().waitFor();
      await page.waitForFunction(
        `document.querySelectorAll('.opblock-tag-section').length >= ${tags.length}`,
      );
    },
  },
};

async function main(): Promise<void> {
  const runs = Number(arg('runs', '5'));
  const executablePath = arg('chromium', '/usr/bin/chromium');
  const which = arg('page', 'reference');
  const chosen = which === 'both' ? ['reference', 'console'] : [which];
  const db = await openPglite('memory://');
  await migrate(db);
  const config = loadConfig({ LOG_LEVEL: 'warn', HEARTH_WORKERS: 'false', PORT: '0' });
  const app = await buildApp({ config, db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const specText = await (await fetch(`${base}/openapi.json`)).text();
  const tags = (JSON.parse(specText) as { tags: { name: string }[] }).tags.map((t) => t.name);
  const docsBytes = (await (await fetch(`${base}/docs`)).arrayBuffer()).byteLength;
  console.log(
    `/openapi.json ${(specText.length / 1024).toFixed(0)} KiB; /docs ${(docsBytes / 1024).toFixed(0)} KiB`,
  );

  const browser = await chromium.launch({ executablePath, args: FLAGS });
  try {
    for (const name of chosen) {
      const { path, ready } = pages[name];
      const times: number[] = [];
      const paints: string[] = [];
      for (let i = 0; i < runs; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`${base}${path}`);
        await ready(page, tags);
        times.push(performance.now() - started);
        paints.push(
          // A string: the bench's tsconfig has no DOM types.
          await page.evaluate<string>(`(() => {
            const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
            const nav = performance.getEntriesByType('navigation')[0];
            return fcp.toFixed(0) + '/' + nav.loadEventEnd.toFixed(0);
          })()`),
        );
        await context.close();
      }
      const sorted = [...times].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(
        `${path} (${name}): introduction and ${tags.length} tags of operations visible in median ` +
          `${median.toFixed(0)} ms over ${runs} runs (min ${sorted[0].toFixed(0)}, max ${sorted.at(-1)?.toFixed(0)}); ` +
          `first contentful paint/load event ms per run: ${paints.join(' ')}`,
      );
    }
  } finally {
    await browser.close();
    await app.close();
    await db.close();
  }
}

await main();
