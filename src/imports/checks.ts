import type { Queryable } from '../db/database.js';
import type { OnDuplicate } from './validate-row.js';

/**
 * The checks that need every row at once, run set-wise over the staging tables once all chunks
 * are validated: household references, the same identity twice in the file, identities already
 * registered (the rule of the person_identities_unique index: same tenant, type and key among
 * non-archived persons, invalid identities aside). Each decides `action` for the rows still
 * undecided and writes their errors; rows left undecided (NULL) are the ones to create.
 */

const ERRORS_INSERT = `INSERT INTO person_import_errors (tenant_id, import_id, row_no, seq, field, code, message)`;

async function householdReferences(q: Queryable, tenantId: string, importId: string): Promise<void> {
  await q.query(
    `WITH bad AS (
       UPDATE person_import_rows r SET action = 'reject'
        WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.action IS NULL AND r.household_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM households h
                           WHERE h.tenant_id = r.tenant_id AND h.id = r.household_id AND h.status <> 'archived')
        RETURNING r.row_no, r.household_id)
     ${ERRORS_INSERT}
     SELECT $1, $2, b.row_no, 0, 'household_id', 'ERR_VAL_RULE_VIOLATION',
            CASE WHEN EXISTS (SELECT 1 FROM households h WHERE h.tenant_id = $1 AND h.id = b.household_id)
                 THEN 'the household is archived' ELSE 'no such household in this tenant' END
       FROM bad b`,
    [tenantId, importId],
  );
}

/** The second and later rows giving an identity already given by an earlier row are rejected. */
async function duplicatesInFile(q: Queryable, tenantId: string, importId: string): Promise<void> {
  await q.query(
    `WITH ids AS (
       SELECT i.row_no, i.ord, i.source_field,
              min(i.row_no) OVER (PARTITION BY i.identity_type, i.identity_key) AS first_row
         FROM person_import_identities i
         JOIN person_import_rows r ON r.tenant_id = i.tenant_id AND r.import_id = i.import_id AND r.row_no = i.row_no
        WHERE i.tenant_id = $1 AND i.import_id = $2 AND i.status <> 'invalid' AND r.action IS NULL),
     dup AS (
       SELECT DISTINCT ON (row_no) row_no, source_field, first_row FROM ids WHERE row_no > first_row
        ORDER BY row_no, ord),
     bad AS (
       UPDATE person_import_rows r SET action = 'reject' FROM dup
        WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.row_no = dup.row_no
        RETURNING r.row_no, dup.source_field, dup.first_row)
     ${ERRORS_INSERT}
     SELECT $1, $2, row_no, 0, source_field, 'ERR_CONFLICT',
            'the same identity is given by row ' || first_row || ' of this file'
       FROM bad`,
    [tenantId, importId],
  );
}

/**
 * Rows whose identities are registered already: rejected (409 of POST /persons), skipped, or
 * turned into updates of that person. Identities of two different persons are always rejected,
 * as are two rows updating the same person.
 */
async function registered(
  q: Queryable,
  tenantId: string,
  importId: string,
  onDuplicate: OnDuplicate,
  after = 0,
  upTo: number | null = null,
): Promise<void> {
  await q.query(
    `WITH m AS (
       SELECT i.row_no, i.ord, i.source_field, p.person_id
         FROM person_import_identities i
         JOIN person_import_rows r ON r.tenant_id = i.tenant_id AND r.import_id = i.import_id AND r.row_no = i.row_no
         JOIN person_identities p ON p.tenant_id = i.tenant_id AND p.identity_type = i.identity_type
                                 AND p.identity_key = i.identity_key AND NOT p.person_archived
                                 AND p.status <> 'invalid' AND p.removed_at IS NULL
        WHERE i.tenant_id = $1 AND i.import_id = $2 AND i.status <> 'invalid' AND r.action IS NULL
          AND i.row_no > $4 AND ($5::int IS NULL OR i.row_no <= $5)),
     per_row AS (
       SELECT row_no, count(DISTINCT person_id) AS persons, min(person_id::text)::uuid AS target,
              (array_agg(source_field ORDER BY ord))[1] AS field
         FROM m GROUP BY row_no),
     decided AS (
       UPDATE person_import_rows r
          SET action = CASE WHEN $3 = 'reject' OR pr.persons > 1 THEN 'reject' ELSE $3 END,
              target_id = CASE WHEN $3 <> 'reject' AND pr.persons = 1 THEN pr.target END
         FROM per_row pr
        WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.row_no = pr.row_no
        RETURNING r.row_no, r.action, pr.field, pr.persons)
     ${ERRORS_INSERT}
     SELECT $1, $2, row_no, 0, field, 'ERR_CONFLICT',
            CASE WHEN persons > 1 THEN 'the identities of this row belong to different registered persons'
                 ELSE 'an identity of this person is already registered to another person in this tenant' END
       FROM decided WHERE action = 'reject'`,
    [tenantId, importId, onDuplicate, after, upTo],
  );
  if (onDuplicate !== 'update') return;
  await q.query(
    `WITH t AS (
       SELECT row_no, target_id, min(row_no) OVER (PARTITION BY target_id) AS first_row
         FROM person_import_rows WHERE tenant_id = $1 AND import_id = $2 AND action = 'update'),
     bad AS (
       UPDATE person_import_rows r SET action = 'reject', target_id = NULL FROM t
        WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.row_no = t.row_no AND t.row_no > t.first_row
        RETURNING r.row_no, t.first_row)
     ${ERRORS_INSERT}
     SELECT $1, $2, row_no, 0, '(row)', 'ERR_CONFLICT',
            'row ' || first_row || ' of this file already updates the same person' FROM bad`,
    [tenantId, importId],
  );
}

/** All checks, in order, for rows not decided yet; rows left undecided (action NULL) are created. */
export async function runChecks(
  q: Queryable,
  tenantId: string,
  importId: string,
  onDuplicate: OnDuplicate,
): Promise<void> {
  await householdReferences(q, tenantId, importId);
  await duplicatesInFile(q, tenantId, importId);
  await registered(q, tenantId, importId, onDuplicate);
}

/**
 * Before applying again after an interruption or a clash: rows planned for creation and not yet
 * applied are checked against the registry once more (someone may have registered them since).
 */
export async function recheckPending(
  q: Queryable,
  tenantId: string,
  importId: string,
  appliedThrough: number,
  upTo: number | null,
  onDuplicate: OnDuplicate,
): Promise<void> {
  await registered(q, tenantId, importId, onDuplicate, appliedThrough, upTo);
}

export interface ActionCounts {
  create: number;
  update: number;
  skip: number;
  reject: number;
}

export async function actionCounts(q: Queryable, tenantId: string, importId: string): Promise<ActionCounts> {
  const { rows } = await q.query<{ action: keyof ActionCounts | null; n: number }>(
    `SELECT action, count(*)::int AS n FROM person_import_rows
      WHERE tenant_id = $1 AND import_id = $2 GROUP BY action`,
    [tenantId, importId],
  );
  const out: ActionCounts = { create: 0, update: 0, skip: 0, reject: 0 };
  for (const r of rows) out[r.action ?? 'create'] += r.n;
  return out;
}
