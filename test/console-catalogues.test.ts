import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** The console's strings live in message catalogues: every key used exists in English and French. */
const root = path.resolve(import.meta.dirname, '../console/src');

function keysOf(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keysOf(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : /\.tsx?$/.test(e.name) ? [full] : [];
  });
}

const en = JSON.parse(fs.readFileSync(path.join(root, 'i18n/en.json'), 'utf8'));
const fr = JSON.parse(fs.readFileSync(path.join(root, 'i18n/fr.json'), 'utf8'));

describe('console message catalogues', () => {
  it('English and French have the same keys, none empty', () => {
    expect(keysOf(fr).sort()).toEqual(keysOf(en).sort());
    const empty = keysOf(en).filter((k) => !k.split('.').reduce((o, p) => o[p], en));
    expect(empty).toEqual([]);
  });

  it('every literal key the console asks for is in the catalogues', () => {
    const known = new Set(keysOf(en));
    const missing: string[] = [];
    for (const file of sources(root)) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) {
        if (!known.has(m[1])) missing.push(`${path.relative(root, file)}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
