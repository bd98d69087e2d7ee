import type { Queryable } from '../db/database.js';

/**
 * Applies the decided rows of a range of lines set-wise, writing what POST /persons (create) and
 * PATCH /persons/{id} (update) write row by row: the person with provenance (collection_method
 * `import`), identities, contacts, the household membership, a version row and outbox events.
 * Identity uniqueness stays with the unique index: a clash aborts the statement.
 */

export interface ApplyMeta {
  tenantId: string;
  importId: string;
  createdBy: string;
  sourceSystem: string | null;
  /** Membership start date (UTC day, like POST /persons). */
  today: string;
}

export interface RangeResult {
  created: number;
  updated: number;
  unchanged: number;
}

const RANGE = `r.tenant_id = $1 AND r.import_id = $2 AND r.row_no BETWEEN $3 AND $4`;

async function createRows(q: Queryable, m: ApplyMeta, lo: number, hi: number): Promise<number> {
  const args = [m.tenantId, m.importId, lo, hi, m.createdBy, m.sourceSystem];
  const persons = await q.query(
    `INSERT INTO persons (tenant_id, id, system_guid, full_name, given_name, family_name, additional_name,
       date_of_birth, birth_date_estimated, gender, birth_place, address, geo_id, household_id, extensions,
       created_by, source_system, collection_method)
     SELECT r.tenant_id, r.person_id, gen_random_uuid(), r.full_name, r.given_name, r.family_name, r.additional_name,
            r.date_of_birth, r.birth_date_estimated, r.gender, r.birth_place, r.address, r.geo_id, r.household_id,
            r.extensions, $5, $6, 'import'
       FROM person_import_rows r WHERE ${RANGE} AND r.action IS NULL`,
    args,
  );
  if (persons.rowCount === 0) return 0;
  await q.query(
    `INSERT INTO person_identities (tenant_id, id, person_id, identity_type, identity_number, identity_key,
       expiry_date, status, description)
     SELECT i.tenant_id, imports_uuidv7(), r.person_id, i.identity_type, i.identity_number, i.identity_key,
            i.expiry_date, i.status, i.description
       FROM person_import_rows r
       JOIN person_import_identities i ON i.tenant_id = r.tenant_id AND i.import_id = r.import_id AND i.row_no = r.row_no
      WHERE ${RANGE} AND r.action IS NULL
      ORDER BY r.row_no, i.ord`,
    args.slice(0, 4),
  );
  await q.query(
    `INSERT INTO person_contacts (tenant_id, id, person_id, type, value, value_key, is_primary)
     SELECT r.tenant_id, imports_uuidv7(), r.person_id, c.type, c.value, c.key, c."primary"
       FROM person_import_rows r
       CROSS JOIN LATERAL jsonb_to_recordset(r.contacts) AS c(type text, value text, key text, "primary" boolean)
      WHERE ${RANGE} AND r.action IS NULL AND r.contacts <> '[]'::jsonb`,
    args.slice(0, 4),
  );
  await q.query(
    `WITH ms AS (
       INSERT INTO household_members (tenant_id, id, household_id, person_id, relationship_type, effective_from,
         verification_status, created_by)
       SELECT r.tenant_id, imports_uuidv7(), r.household_id, r.person_id, r.relationship_type, $6::date,
              'provisional', $5
         FROM person_import_rows r WHERE ${RANGE} AND r.action IS NULL AND r.household_id IS NOT NULL
       RETURNING id, household_id, person_id)
     INSERT INTO outbox_events (tenant_id, event_id, type, resource_type, resource_id, person_id, data)
     SELECT $1, imports_uuidv7(), 'membership.added', 'household', household_id, person_id,
            jsonb_build_object('household_id', household_id, 'person_id', person_id)
       FROM ms`,
    [...args.slice(0, 5), m.today],
  );
  await q.query(
    `INSERT INTO record_versions (tenant_id, resource_type, resource_id, version_id, changed_by, source_system,
       change, fields)
     SELECT r.tenant_id, 'person', r.person_id, 1, $5, $6, 'create', r.fields
       FROM person_import_rows r WHERE ${RANGE} AND r.action IS NULL`,
    args,
  );
  await q.query(
    `INSERT INTO outbox_events (tenant_id, event_id, type, resource_type, resource_id, person_id, changed_fields)
     SELECT r.tenant_id, imports_uuidv7(), 'person.created', 'person', r.person_id, r.person_id, r.fields
       FROM person_import_rows r WHERE ${RANGE} AND r.action IS NULL
      ORDER BY r.row_no`,
    args.slice(0, 4),
  );
  return persons.rowCount;
}

/** A field given in the row and different from the stored value becomes a change. */
const change = (field: string, given: string, stored = `p.${field}`, newValue = `r.${field}`) =>
  `CASE WHEN ${given} AND ${newValue} IS DISTINCT FROM ${stored} THEN '${field}' END`;
const given = (...names: string[]) => `(${names.map((n) => `'${n}' = ANY(r.fields)`).join(' OR ')})`;
const SIMPLE = [
  'full_name',
  'given_name',
  'family_name',
  'additional_name',
  'gender',
  'birth_place',
  'geo_id',
];
const JSONB = ['address', 'extensions'];
const ALL = [...SIMPLE, 'date_of_birth', 'birth_date_estimated', ...JSONB];
const setColumn = (f: string) => `${f} = CASE WHEN '${f}' = ANY(ch.changed) THEN ch.new_${f} ELSE p.${f} END`;

async function updateRows(q: Queryable, m: ApplyMeta, lo: number, hi: number): Promise<RangeResult> {
  const args = [m.tenantId, m.importId, lo, hi, m.createdBy, m.sourceSystem];
  const changes = [
    ...SIMPLE.map((f) => change(f, given(f))),
    change('date_of_birth', given('date_of_birth', 'age_estimate')),
    change('birth_date_estimated', given('date_of_birth', 'age_estimate')),
    ...JSONB.map((f) => change(f, given(f))),
  ];
  const pairs = (prefix: string) => ALL.map((f) => `'${f}', to_jsonb(${prefix}.${f})`).join(', ');
  const { rows } = await q.query<{ matched: number; changed_ids: string[] | null }>(
    `WITH c AS (
       SELECT p.id, p.version_id + 1 AS next_version,
              array_remove(ARRAY[${changes.join(', ')}]::text[], NULL) AS changed,
              jsonb_build_object(${pairs('p')}) AS old_all,
              jsonb_build_object(${pairs('r')}) AS new_all,
              ${ALL.map((f) => `r.${f} AS new_${f}`).join(', ')}
         FROM person_import_rows r
         JOIN persons p ON p.tenant_id = r.tenant_id AND p.id = r.target_id
        WHERE ${RANGE} AND r.action = 'update'
        FOR UPDATE OF p),
     ch AS (SELECT * FROM c WHERE cardinality(changed) > 0),
     u AS (
       UPDATE persons p SET ${ALL.map(setColumn).join(', ')},
              version_id = ch.next_version, updated_at = now(), updated_by = $5, last_update_system = $6
         FROM ch WHERE p.tenant_id = $1 AND p.id = ch.id
        RETURNING p.id),
     v AS (
       INSERT INTO record_versions (tenant_id, resource_type, resource_id, version_id, changed_by, source_system,
         change, fields, old_values, new_values)
       SELECT $1, 'person', ch.id, ch.next_version, $5, $6, 'update', ch.changed,
              (SELECT jsonb_object_agg(k, v) FROM jsonb_each(ch.old_all) AS e(k, v) WHERE k = ANY(ch.changed)),
              (SELECT jsonb_object_agg(k, v) FROM jsonb_each(ch.new_all) AS e(k, v) WHERE k = ANY(ch.changed))
         FROM ch),
     e AS (
       INSERT INTO outbox_events (tenant_id, event_id, type, resource_type, resource_id, person_id, changed_fields)
       SELECT $1, imports_uuidv7(), 'person.updated', 'person', ch.id, ch.id, ch.changed FROM ch)
     SELECT (SELECT count(*) FROM c)::int AS matched, (SELECT array_agg(id) FROM u) AS changed_ids`,
    args,
  );
  const matched = rows[0]?.matched ?? 0;
  if (matched === 0) return { created: 0, updated: 0, unchanged: 0 };
  const changedIds = rows[0].changed_ids ?? [];
  const joined = await q.query<{ extra: number }>(
    `WITH src AS (
       SELECT r.target_id AS person_id, r.household_id, r.relationship_type
         FROM person_import_rows r
        WHERE ${RANGE} AND r.action = 'update' AND r.household_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM household_members hm
                           WHERE hm.tenant_id = r.tenant_id AND hm.household_id = r.household_id
                             AND hm.person_id = r.target_id AND hm.ended_at IS NULL)),
     ms AS (
       INSERT INTO household_members (tenant_id, id, household_id, person_id, relationship_type, effective_from,
         verification_status, created_by)
       SELECT $1, imports_uuidv7(), household_id, person_id, relationship_type, $6::date, 'provisional', $5 FROM src
       RETURNING id, household_id, person_id),
     hh AS (
       UPDATE persons p SET household_id = ms.household_id FROM ms
        WHERE p.tenant_id = $1 AND p.id = ms.person_id AND p.household_id IS NULL),
     ev AS (
       INSERT INTO outbox_events (tenant_id, event_id, type, resource_type, resource_id, person_id, data)
       SELECT $1, imports_uuidv7(), 'membership.added', 'household', household_id, person_id,
              jsonb_build_object('household_id', household_id, 'person_id', person_id, 'membership_id', id)
         FROM ms)
     SELECT count(*)::int AS extra FROM ms WHERE NOT (person_id = ANY($7::uuid[]))`,
    [m.tenantId, m.importId, lo, hi, m.createdBy, m.today, changedIds],
  );
  const updated = changedIds.length + (joined.rows[0]?.extra ?? 0);
  return { created: 0, updated, unchanged: matched - updated };
}

/** Creates and updates the decided rows whose line is in [lo, hi]. */
export async function applyRange(q: Queryable, m: ApplyMeta, lo: number, hi: number): Promise<RangeResult> {
  const created = await createRows(q, m, lo, hi);
  const upd = await updateRows(q, m, lo, hi);
  return { created, updated: upd.updated, unchanged: upd.unchanged };
}

/** Line numbers that split the decided rows into ranges of about `size` rows each. */
export async function rangeBounds(
  q: Queryable,
  tenantId: string,
  importId: string,
  after: number,
  size: number,
): Promise<number[]> {
  const { rows } = await q.query<{ hi: number }>(
    `SELECT row_no AS hi FROM (
       SELECT row_no, row_number() OVER (ORDER BY row_no) AS n,
              count(*) OVER () AS total
         FROM person_import_rows
        WHERE tenant_id = $1 AND import_id = $2 AND row_no > $3 AND (action IS NULL OR action = 'update')) x
      WHERE n % $4 = 0 OR n = total ORDER BY row_no`,
    [tenantId, importId, after, size],
  );
  return rows.map((r) => r.hi);
}
