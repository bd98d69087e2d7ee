import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { DataDirLockedError, dataLockHolder } from '../db/data-lock.js';
import { isUuid } from '../lib/ids.js';

/** The running server's API, as the command line uses it while that server holds the data folder. */
export interface RemoteApi {
  url: string;
  call<T = unknown>(method: string, path: string, body?: unknown, tenantId?: string): Promise<T>;
  /** A binary answer (GET). */
  download(path: string): Promise<Buffer>;
}

export class RemoteError extends Error {}

/** ROOT credentials: HEARTH_TOKEN, or HEARTH_ROOT_CLIENT_ID/SECRET, or the first-start credentials file. */
async function rootToken(url: string, config: Config): Promise<string> {
  if (config.cliToken) return config.cliToken;
  let id = config.rootClientId;
  let secret = config.rootClientSecret;
  if (!id || !secret) {
    try {
      const file = JSON.parse(fs.readFileSync(path.join(config.dataDir, 'root-credentials.json'), 'utf8'));
      id = file.client_id;
      secret = file.client_secret;
    } catch {
      throw new RemoteError(
        `a Hearth server (${url}) holds the data folder: the command goes through its API, which needs ROOT credentials ` +
          '(HEARTH_TOKEN, or HEARTH_ROOT_CLIENT_ID and HEARTH_ROOT_CLIENT_SECRET)',
      );
    }
  }
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new RemoteError(`the server at ${url} refused the ROOT credentials (${res.status})`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/**
 * When a live server holds the embedded data folder, its API; otherwise null (the command opens the
 * folder itself, or uses PostgreSQL). A folder held by another command is refused.
 */
export async function runningServerApi(config: Config): Promise<RemoteApi | null> {
  if (config.databaseUrl !== null) return null;
  const holder = dataLockHolder(config.dataDir);
  if (!holder) return null;
  if (holder.holder !== 'server' || !holder.url) throw new DataDirLockedError(config.dataDir, holder);
  const url = holder.url;
  const token = await rootToken(url, config);
  async function send(method: string, route: string, body?: unknown, tenantId?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (tenantId) headers['x-tenant-id'] = tenantId;
    const res = await fetch(`${url}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(600_000),
    });
    if (!res.ok) {
      const text = await res.text();
      let detail = text;
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
      } catch {
        // not JSON: show it as it came
      }
      throw new RemoteError(`${method} ${route}: ${res.status} ${detail}`);
    }
    return res;
  }
  return {
    url,
    async call<T>(method: string, route: string, body?: unknown, tenantId?: string): Promise<T> {
      const text = await (await send(method, route, body, tenantId)).text();
      return (text ? JSON.parse(text) : null) as T;
    },
    async download(route: string): Promise<Buffer> {
      return Buffer.from(await (await send('GET', route)).arrayBuffer());
    },
  };
}

/** A tenant code or id, resolved through the API. */
export async function remoteTenantId(api: RemoteApi, ref: string): Promise<string> {
  if (isUuid(ref)) return ref.toLowerCase();
  let cursor: string | null = null;
  do {
    const page: { data: { tenant_id: string; code: string }[]; next_cursor: string | null } = await api.call(
      'GET',
      `/api/v1/tenants?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    const hit = page.data.find((t) => t.code.toLowerCase() === ref.toLowerCase());
    if (hit) return hit.tenant_id;
    cursor = page.next_cursor;
  } while (cursor);
  throw new RemoteError(`no tenant with code or id "${ref}"`);
}
