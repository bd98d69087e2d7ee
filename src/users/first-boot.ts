import fs from 'node:fs';
import path from 'node:path';
import type { UserService } from './service.js';

export interface FirstBootUser {
  username: string;
  password: string;
  file: string;
}

export const FIRST_ADMIN_USERNAME = 'admin';

/**
 * On the first start of an embedded database with no ROOT user and none configured, creates the
 * first administrator with a one-time password (to be replaced at the first sign-in) and writes it
 * beside the ROOT client's credentials, readable by the owner only, never to the log.
 */
export async function firstBootRootUser(users: UserService, dataDir: string): Promise<FirstBootUser | null> {
  if (!(await users.hasNoRootUser())) return null;
  const password = await users.createFirstRootUser(FIRST_ADMIN_USERNAME);
  const file = path.resolve(dataDir, 'root-user-credentials.json');
  const body = {
    username: FIRST_ADMIN_USERNAME,
    password,
    note: 'one-time password: sign in at /console (or POST /auth/login) and choose a new one; then delete this file',
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  return { username: FIRST_ADMIN_USERNAME, password, file };
}
