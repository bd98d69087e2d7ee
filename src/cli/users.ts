import { parseArgs } from 'node:util';
import { systemActor } from '../auth/principal.js';
import { resolveTenantId, withServices } from './admin.js';

const USAGE = `usage:
  hearth user create --username U --roles ROLE[,ROLE] [--tenant CODE|ID] [--display-name NAME] [--email E]
                     [--scopes S,…] [--verticals CODE,…]   (prints a one-time password)
  hearth user reset-password --username U                (prints a one-time password; sessions end)
`;

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

/** `hearth user …`: accounts for people, with a one-time password to be replaced at first sign-in. */
export async function userCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      username: { type: 'string' },
      roles: { type: 'string' },
      scopes: { type: 'string' },
      verticals: { type: 'string' },
      'display-name': { type: 'string' },
      email: { type: 'string' },
    },
  });
  const action = positionals[0];
  if (!values.username || (action !== 'create' && action !== 'reset-password')) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (action === 'create' && !values.roles) {
    process.stderr.write(USAGE);
    return 2;
  }
  return withServices(async (s, db) => {
    if (action === 'reset-password') {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM users WHERE username = $1', [
        values.username,
      ]);
      if (rows.length === 0) throw new Error(`no user "${values.username}"`);
      print(await s.users.resetPassword(systemActor(null, 'cli'), rows[0].id));
    } else {
      const tenantId = values.tenant ? await resolveTenantId(db, values.tenant) : undefined;
      const actor = systemActor(tenantId ?? null, 'cli');
      let verticalIds: string[] | undefined;
      if (values.verticals && tenantId) {
        const all = await s.verticals.list(actor);
        verticalIds = list(values.verticals)!.map((code) => {
          const v = all.find((x) => x.code === code);
          if (!v) throw new Error(`no vertical ${code} in the tenant`);
          return v.vertical_id;
        });
      }
      print(
        await s.users.create(actor, {
          username: values.username!,
          roles: list(values.roles)!,
          ...(tenantId ? { tenant_id: tenantId } : {}),
          ...(values['display-name'] ? { display_name: values['display-name'] } : {}),
          ...(values.email ? { email: values.email } : {}),
          ...(values.scopes ? { scopes: list(values.scopes) } : {}),
          ...(verticalIds ? { vertical_ids: verticalIds } : {}),
        }),
      );
    }
    process.stderr.write(
      'The one_time_password above is shown only once; the user replaces it at the first sign-in.\n',
    );
    return 0;
  });
}
