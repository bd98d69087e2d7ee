import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-first-boot-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const config = () =>
  loadConfig({
    HEARTH_DATA_DIR: tmp,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    HEARTH_WORKERS: 'false',
  });

describe('first start of the embedded database', () => {
  it('creates one ROOT client whose secret is only in an owner-only file; later starts create none', async () => {
    const file = path.join(tmp, 'root-credentials.json');
    const first = await startServer(config());
    try {
      const stat = fs.statSync(file);
      expect(stat.mode & 0o777).toBe(0o600);
      const creds = JSON.parse(fs.readFileSync(file, 'utf8'));
      const res = await fetch(`${first.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', ...creds }),
      });
      expect(res.status).toBe(200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      const tenants = await fetch(`${first.url}/api/v1/tenants`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(tenants.status).toBe(200);
      // The first administrator: a one-time password in an owner-only file beside the client's.
      const userFile = path.join(tmp, 'root-user-credentials.json');
      expect(fs.statSync(userFile).mode & 0o777).toBe(0o600);
      const admin = JSON.parse(fs.readFileSync(userFile, 'utf8'));
      const login = await fetch(`${first.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: admin.username, password: admin.password }),
      });
      expect(login.status).toBe(200);
      const session = (await login.json()) as { user: { is_root: boolean }; restriction: string | null };
      expect(session.user.is_root).toBe(true);
      expect(session.restriction).toBe('password_change');
      fs.rmSync(userFile);
    } finally {
      await first.stop();
    }
    fs.rmSync(file);
    const second = await startServer(config());
    try {
      expect(fs.existsSync(file)).toBe(false);
      const { rows } = await second.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM api_clients WHERE 'root' = ANY(roles)`,
      );
      expect(rows[0].n).toBe(1);
      expect(fs.existsSync(path.join(tmp, 'root-user-credentials.json'))).toBe(false);
      const users = await second.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users WHERE 'root' = ANY(roles)`,
      );
      expect(users.rows[0].n).toBe(1);
    } finally {
      await second.stop();
    }
  }, 240_000);
});
