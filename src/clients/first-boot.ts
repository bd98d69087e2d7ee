import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClientService } from './service.js';

export interface FirstBootCredentials {
  client_id: string;
  client_secret: string;
  file: string;
}

/**
 * On the first start of an embedded database with no ROOT client and none configured, creates one
 * so `npm start` is usable at once, and writes its credentials to a file only the owner may read
 * in the data folder (never to the log). Later starts find the client and do nothing.
 */
export async function firstBootRootClient(
  clients: ClientService,
  dataDir: string,
): Promise<FirstBootCredentials | null> {
  if (!(await clients.hasNoRootClient())) return null;
  const credentials = {
    client_id: `root-${randomBytes(4).toString('hex')}`,
    client_secret: randomBytes(24).toString('base64url'),
  };
  await clients.ensureRootClient(credentials.client_id, credentials.client_secret);
  const file = path.resolve(dataDir, 'root-credentials.json');
  fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return { ...credentials, file };
}
