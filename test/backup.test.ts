import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';
import { type RunningServer, startServer } from '../src/server.js';
import { isPostgres } from './helpers/app.js';

/**
 * `hearth backup` while the embedded server runs (through its API), `hearth restore` into a new
 * folder, and the restored database serves the same tenants with an intact audit chain.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-backup-'));
const ROOT = { id: 'backup-root', secret: 'backup-root-secret-0123456789' };
const saved = { ...process.env };
const running: RunningServer[] = [];

function useFolder(name: string): void {
  Object.assign(process.env, {
    HEARTH_DATA_DIR: path.join(tmp, name),
    HEARTH_ROOT_CLIENT_ID: ROOT.id,
    HEARTH_ROOT_CLIENT_SECRET: ROOT.secret,
    LOG_LEVEL: 'silent',
    HEARTH_WORKERS: 'false',
    PORT: '0',
    HOST: '127.0.0.1',
    HEARTH_SHUTDOWN_DRAIN_MS: '0',
  });
}

beforeAll(() => {
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
});
afterAll(async () => {
  for (const s of running) await s.stop();
  process.env = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function hearth(...argv: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function serve(): Promise<RunningServer> {
  const s = await startServer(loadConfig());
  running.push(s);
  return s;
}

async function stop(s: RunningServer): Promise<void> {
  await s.stop();
  running.splice(running.indexOf(s), 1);
}

async function root(s: RunningServer): Promise<string> {
  const res = await s.app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: ROOT.id, client_secret: ROOT.secret },
  });
  return res.json().access_token;
}

describe.skipIf(isPostgres())('embedded backup and restore', () => {
  it('backs up while serving, restores into a new folder, and the audit chain verifies', {
    timeout: 400_000,
  }, async () => {
    useFolder('live');
    const live = await serve();
    const token = await root(live);
    const created = await live.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: { authorization: `Bearer ${token}` },
      payload: { code: 'BACKUP', name: 'Backed up' },
    });
    expect(created.statusCode).toBe(201);
    const tenantId = created.json().tenant_id;
    const file = path.join(tmp, 'hearth.tar.gz');
    const backup = await hearth('backup', file);
    expect(backup.err).toBe('');
    expect(backup.code).toBe(0);
    expect(fs.statSync(file).mode & 0o077).toBe(0);
    // Written after the backup: must not be in the restored copy.
    await live.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: { authorization: `Bearer ${token}` },
      payload: { code: 'LATER', name: 'After the backup' },
    });
    await stop(live);

    useFolder('live');
    const refused = await hearth('restore', file);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/is not empty: restore into a new folder/);

    useFolder('restored');
    expect((await hearth('restore', file)).code).toBe(0);
    const restored = await serve();
    const t2 = await root(restored);
    const tenants = await restored.app.inject({
      method: 'GET',
      url: '/api/v1/tenants?limit=100',
      headers: { authorization: `Bearer ${t2}` },
    });
    const codes = tenants.json().data.map((t: { code: string }) => t.code);
    expect(codes).toContain('BACKUP');
    expect(codes).not.toContain('LATER');
    const verify = await restored.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events/verify',
      headers: { authorization: `Bearer ${t2}`, 'x-tenant-id': tenantId },
    });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ valid: true });
    expect(verify.json().checked).toBeGreaterThan(0);
  });
});
