import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Queryable } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden, notFound } from '../http/errors.js';
import type { VocabularyCodeCreate, VocabularyCodeOut, VocabularyOut } from './schemas.js';

type CodeMap = Map<string, Map<string, string>>;
const TTL_MS = 60_000;

/**
 * Vocabularies of each tenant, cached per process. Codes are only ever added, so a miss reloads
 * once before a value is refused: a code added by another process is never wrongly rejected.
 */
export function createVocabularyService(db: Database) {
  const cache = new Map<string, { at: number; codes: CodeMap }>();

  async function load(q: Queryable, tenantId: string): Promise<CodeMap> {
    const { rows } = await q.query<{ vocabulary: string; code: string; display: string }>(
      'SELECT vocabulary, code, display FROM vocabulary_codes WHERE tenant_id = $1 AND NOT deprecated',
      [tenantId],
    );
    const codes: CodeMap = new Map();
    for (const r of rows) {
      let m = codes.get(r.vocabulary);
      if (!m) {
        m = new Map();
        codes.set(r.vocabulary, m);
      }
      m.set(r.code, r.display);
    }
    cache.set(tenantId, { at: Date.now(), codes });
    return codes;
  }

  async function codesOf(
    q: Queryable,
    tenantId: string,
    vocabulary: string,
    fresh = false,
  ): Promise<Map<string, string>> {
    const hit = cache.get(tenantId);
    const codes = !fresh && hit && Date.now() - hit.at < TTL_MS ? hit.codes : await load(q, tenantId);
    return codes.get(vocabulary) ?? new Map();
  }

  function refusal(vocabulary: string, field: string, value: string, allowed: Map<string, string>): AppError {
    const list = [...allowed.keys()].join(', ');
    return new AppError(
      'ERR_VAL_INVALID_FORMAT',
      `${field}: "${value}" is not a code of the ${vocabulary} vocabulary`,
      {
        errors: [{ field, message: `must be one of: ${list}`, code: 'ERR_VAL_INVALID_FORMAT' }],
        extra: { allowed_values: [...allowed.keys()] },
      },
    );
  }

  return {
    /** Refuses a value that is not a current code of the vocabulary (422 listing the allowed codes). */
    async assertCode(
      q: Queryable,
      tenantId: string,
      vocabulary: string,
      value: string,
      field: string,
    ): Promise<void> {
      if ((await codesOf(q, tenantId, vocabulary)).has(value)) return;
      const fresh = await codesOf(q, tenantId, vocabulary, true);
      if (!fresh.has(value)) throw refusal(vocabulary, field, value, fresh);
    },

    /** A code given as the code itself or its display name, case-insensitively (G2P face). */
    async resolve(
      q: Queryable,
      tenantId: string,
      vocabulary: string,
      value: string,
      field: string,
    ): Promise<string> {
      for (const fresh of [false, true]) {
        const codes = await codesOf(q, tenantId, vocabulary, fresh);
        if (codes.has(value)) return value;
        const lower = value.trim().toLowerCase();
        for (const [code, display] of codes) {
          if (code.toLowerCase() === lower || display.toLowerCase() === lower) return code;
        }
        if (fresh) throw refusal(vocabulary, field, value, codes);
      }
      throw refusal(vocabulary, field, value, new Map());
    },

    /**
     * Several coded values, each given as its code or display name (case-insensitively), resolved
     * to codes in one transaction; the first unknown one is refused naming its field.
     */
    async resolveAll(
      actor: Actor,
      items: readonly { vocabulary: string; value: string; field: string }[],
    ): Promise<string[]> {
      if (items.length === 0) return [];
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const out: string[] = [];
        for (const i of items) out.push(await this.resolve(tx, tenantId, i.vocabulary, i.value, i.field));
        return out;
      });
    },

    /** Code → display name of one vocabulary of the actor's tenant (from the cache when it is fresh). */
    async labels(actor: Actor, vocabulary: string): Promise<Map<string, string>> {
      const tenantId = requireTenant(actor);
      const hit = cache.get(tenantId);
      const codes =
        hit && Date.now() - hit.at < TTL_MS
          ? (hit.codes.get(vocabulary) ?? new Map<string, string>())
          : await tenantTx(db, actor, (tx) => codesOf(tx, tenantId, vocabulary));
      return new Map(codes);
    },

    async display(q: Queryable, tenantId: string, vocabulary: string, code: string): Promise<string | null> {
      return (await codesOf(q, tenantId, vocabulary)).get(code) ?? null;
    },

    async list(actor: Actor): Promise<VocabularyOut[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<VocabularyOut>(
          'SELECT code, namespace, name, extendable FROM vocabularies WHERE tenant_id = $1 ORDER BY code',
          [tenantId],
        );
        return rows;
      });
    },

    async codes(actor: Actor, vocabulary: string, includeDeprecated: boolean): Promise<VocabularyCodeOut[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const { rows } = await tx.query<VocabularyCodeOut & { found: boolean }>(
          `SELECT c.code, c.display, v.namespace AS system, c.is_system, c.deprecated
             FROM vocabularies v JOIN vocabulary_codes c ON c.tenant_id = v.tenant_id AND c.vocabulary = v.code
            WHERE v.tenant_id = $1 AND (v.code = $2 OR v.namespace = $2) AND ($3 OR NOT c.deprecated)
            ORDER BY c.is_system DESC, c.code`,
          [tenantId, vocabulary, includeDeprecated],
        );
        if (rows.length === 0) {
          const exists = await tx.query(
            'SELECT 1 FROM vocabularies WHERE tenant_id = $1 AND (code = $2 OR namespace = $2)',
            [tenantId, vocabulary],
          );
          if (exists.rowCount === 0) throw notFound('vocabulary');
        }
        return rows;
      });
    },

    async addCode(actor: Actor, vocabulary: string, input: VocabularyCodeCreate): Promise<VocabularyCodeOut> {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
        throw forbidden('only tenant admins extend vocabularies');
      }
      try {
        const out = await tenantTx(db, actor, async (tx) => {
          const { rows } = await tx.query<{ namespace: string; extendable: boolean }>(
            'SELECT namespace, extendable FROM vocabularies WHERE tenant_id = $1 AND code = $2',
            [tenantId, vocabulary],
          );
          if (rows.length === 0) throw notFound('vocabulary');
          if (!rows[0].extendable) {
            throw new AppError(
              'ERR_STATE_CONFLICT',
              `the ${vocabulary} vocabulary is fixed and cannot be extended`,
            );
          }
          await tx.query(
            'INSERT INTO vocabulary_codes (tenant_id, vocabulary, code, display) VALUES ($1, $2, $3, $4)',
            [tenantId, vocabulary, input.code, input.display],
          );
          await recordAudit(
            tx,
            actor,
            auditOf(
              actor,
              'vocabulary.code_add',
              { type: 'vocabulary', id: vocabulary },
              {
                details: { code: input.code },
              },
            ),
          );
          return { ...input, system: rows[0].namespace, is_system: false, deprecated: false };
        });
        cache.delete(tenantId);
        return out;
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation)
          throw conflict(`code ${input.code} already exists`, 'code');
        throw err;
      }
    },
  };
}

export type VocabularyService = ReturnType<typeof createVocabularyService>;
