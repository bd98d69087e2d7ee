import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type Static, Type } from 'typebox';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Queryable } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden } from '../http/errors.js';
import { Body, DateTime } from '../http/schemas.js';

export const ExtensionSchemaCreate = Body({
  name: Type.String({ pattern: '^[a-z][a-z0-9_]{1,40}$', examples: ['farmer'] }),
  applies_to: Type.Union([Type.Literal('person'), Type.Literal('household'), Type.Literal('both')]),
  schema: Type.Record(Type.String(), Type.Unknown(), {
    description: 'JSON Schema (draft 7) the extension object must satisfy',
    examples: [{ type: 'object', properties: { poverty_score: { type: 'number' } } }],
  }),
});
export type ExtensionSchemaCreate = Static<typeof ExtensionSchemaCreate>;

export const ExtensionSchemaOut = Type.Object({
  name: Type.String(),
  namespace: Type.String({ examples: ['urn:hearth:extension:farmer'] }),
  applies_to: Type.String(),
  schema: Type.Record(Type.String(), Type.Unknown()),
  created_at: DateTime(),
});
export type ExtensionSchemaOut = Static<typeof ExtensionSchemaOut>;

/**
 * Extensions every tenant has without registering them. `g2p` keeps the G2P Registry fields that
 * have no column of their own (registration date, partial group flag); its name is reserved.
 */
export const SYSTEM_EXTENSIONS: Readonly<Record<string, Omit<Row, 'created_at'>>> = {
  g2p: {
    name: 'g2p',
    namespace: 'urn:hearth:extension:g2p',
    applies_to: 'both',
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        registration_date: { type: 'string', format: 'date' },
        is_partial_group: { type: 'boolean' },
      },
    },
  },
};

const systemExtension = (name: string) =>
  Object.hasOwn(SYSTEM_EXTENSIONS, name) ? SYSTEM_EXTENSIONS[name] : undefined;

interface Row {
  name: string;
  namespace: string;
  applies_to: 'person' | 'household' | 'both';
  schema: Record<string, unknown>;
  created_at: Date;
}

/**
 * Extensions are namespaced objects on persons and households (`extensions.farmer = {…}`); each
 * name must be registered by the tenant with a JSON Schema that its values must satisfy.
 */
export function createExtensionService(db: Database) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const compiled = new Map<string, ValidateFunction>();

  function validatorFor(schema: Record<string, unknown>): ValidateFunction {
    const key = createHash('sha256').update(JSON.stringify(schema)).digest('hex');
    let v = compiled.get(key);
    if (!v) {
      v = ajv.compile(schema);
      compiled.set(key, v);
    }
    return v;
  }

  return {
    async register(actor: Actor, input: ExtensionSchemaCreate): Promise<ExtensionSchemaOut> {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
        throw forbidden('only tenant admins register extensions');
      }
      if (systemExtension(input.name)) throw conflict(`extension ${input.name} is reserved`, 'name');
      try {
        validatorFor(input.schema);
      } catch (err) {
        throw new AppError(
          'ERR_VAL_INVALID_FORMAT',
          `schema is not a valid JSON Schema: ${(err as Error).message}`,
          {
            errors: [{ field: 'schema', message: 'not a valid JSON Schema' }],
          },
        );
      }
      try {
        return await tenantTx(db, actor, async (tx) => {
          const { rows } = await tx.query<ExtensionSchemaOut>(
            `INSERT INTO extension_schemas (tenant_id, name, namespace, applies_to, schema) VALUES ($1, $2, $3, $4, $5)
             RETURNING name, namespace, applies_to, schema, created_at`,
            [
              tenantId,
              input.name,
              `urn:hearth:extension:${input.name}`,
              input.applies_to,
              JSON.stringify(input.schema),
            ],
          );
          await recordAudit(
            tx,
            actor,
            auditOf(actor, 'extension.register', { type: 'extension', id: input.name }),
          );
          return rows[0];
        });
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation)
          throw conflict(`extension ${input.name} exists`, 'name');
        throw err;
      }
    },

    async list(actor: Actor): Promise<ExtensionSchemaOut[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<ExtensionSchemaOut>(
          'SELECT name, namespace, applies_to, schema, created_at FROM extension_schemas WHERE tenant_id = $1 ORDER BY name',
          [tenantId],
        );
        return rows;
      });
    },

    /** Refuses unregistered extension names and values that fail their schema (422 per field). */
    async validate(
      q: Queryable,
      tenantId: string,
      target: 'person' | 'household',
      extensions: Record<string, unknown>,
    ) {
      const names = Object.keys(extensions);
      if (names.length === 0) return;
      const { rows } = await q.query<Row>(
        'SELECT name, namespace, applies_to, schema, created_at FROM extension_schemas WHERE tenant_id = $1 AND name = ANY($2)',
        [tenantId, names],
      );
      const byName = new Map(rows.map((r) => [r.name, r]));
      const errors: { field: string; message: string }[] = [];
      for (const name of names) {
        const row = systemExtension(name) ?? byName.get(name);
        if (!row || (row.applies_to !== 'both' && row.applies_to !== target)) {
          errors.push({
            field: `extensions.${name}`,
            message: `no extension "${name}" is registered for ${target}s`,
          });
          continue;
        }
        const validate = validatorFor(row.schema);
        if (!validate(extensions[name])) {
          for (const e of validate.errors ?? []) {
            errors.push({
              field: `extensions.${name}${e.instancePath.replaceAll('/', '.')}`,
              message: e.message ?? 'invalid',
            });
          }
        }
      }
      if (errors.length > 0) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', `extensions: ${errors[0].field} ${errors[0].message}`, {
          errors,
        });
      }
    },
  };
}

export type ExtensionService = ReturnType<typeof createExtensionService>;
