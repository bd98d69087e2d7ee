import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.databaseUrl).toBeNull();
    expect(c.dataDir).toMatch(/data$/);
    expect(c.tokenTtlSeconds).toBe(3600);
  });

  it('refuses bad values with a message naming each variable', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        HEARTH_ROOT_CLIENT_ID: 'root',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'HEARTH_ROOT_CLIENT_SECRET'])
        expect(msg).toContain(name);
    }
  });

  it('refuses a ROOT client id the database would refuse, before anything starts', () => {
    expect(() =>
      loadConfig({ HEARTH_ROOT_CLIENT_ID: 'r1', HEARTH_ROOT_CLIENT_SECRET: 'a-long-enough-secret' }),
    ).toThrow(/HEARTH_ROOT_CLIENT_ID must be 3 to 64/);
  });

  it('every variable is documented in README.md', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const name of CONFIG_VARIABLES) expect(readme, name).toContain(`\`${name}\``);
  });
});
