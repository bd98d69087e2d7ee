import { consentAllowsSql } from '../../access/consent-filter.js';
import type { Queryable } from '../../db/database.js';
import { identityKey } from '../../registry/normalize.js';
import { Params } from '../../registry/person-search.js';
import type { AttributeName, Entity, Op } from './attributes.js';
import type { Cond, SortKey } from './query.js';

/**
 * The SQL of DCI searches: a condition tree (query.ts) over allow-listed attributes becomes a
 * parameterised WHERE clause. Each attribute name picks a fixed fragment in the switch below;
 * every value is a parameter; no request text is ever part of a statement.
 */

export interface SearchScope {
  tenantId: string;
  /**
   * Verticals whose consents make a person visible (null: any vertical). `undefined`: no consent
   * condition at all (the outbox consumer's pre-match, which sends nothing by itself).
   */
  verticals?: string[] | null;
  /** Extension name and field of the poverty score. */
  povertyPath: readonly [string, string];
}

const SQL_OP: Record<Exclude<Op, 'in'>, string> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };

class Compiler {
  readonly p = new Params();
  readonly tenant: string;
  private povertyParam: string | null = null;

  constructor(
    readonly scope: SearchScope,
    readonly entity: Entity,
  ) {
    this.tenant = this.p.add(scope.tenantId);
  }

  /** The consent condition for a person id expression (always true for the pre-match). */
  visible(personExpr: string): string {
    if (this.scope.verticals === undefined) return 'true';
    return consentAllowsSql((v) => this.p.add(v), this.tenant, personExpr, this.scope.verticals);
  }

  private povertyPathParam(): string {
    this.povertyParam ??= `${this.p.add([...this.scope.povertyPath])}::text[]`;
    return this.povertyParam;
  }

  /** A numeric extension value, or NULL when absent or not a number (never a cast error). */
  private score(extensions: string): string {
    const path = this.povertyPathParam();
    return `(CASE WHEN jsonb_typeof(${extensions} #> ${path}) = 'number' THEN (${extensions} #>> ${path})::numeric END)`;
  }

  /** A value of the person's household (`h2`). */
  private householdOf(valueExpr: string): string {
    return `(SELECT ${valueExpr} FROM households h2 WHERE h2.tenant_id = p.tenant_id AND h2.id = p.household_id)`;
  }

  private openMembers(householdExpr: string, tenantExpr: string): string {
    return `(SELECT count(*)::int FROM household_members m
              WHERE m.tenant_id = ${tenantExpr} AND m.household_id = ${householdExpr} AND m.ended_at IS NULL
                AND ${this.visible('m.person_id')})`;
  }

  /** The SQL value of an attribute for the entity's row alias (p: persons, h: households). */
  valueOf(attr: AttributeName): { expr: string; cast: string } {
    const member = this.entity === 'Member';
    switch (attr) {
      case 'age':
        return { expr: `date_part('year', age(current_date, p.date_of_birth))::int`, cast: 'int' };
      case 'birth_date':
        return { expr: 'p.date_of_birth', cast: 'date' };
      case 'sex':
        return { expr: 'p.gender', cast: 'text' };
      case 'given_name':
        return { expr: 'lower(p.given_name)', cast: 'text' };
      case 'surname':
        return { expr: 'lower(p.family_name)', cast: 'text' };
      case 'second_name':
        return { expr: 'lower(p.additional_name)', cast: 'text' };
      case 'name':
        return { expr: 'lower(p.full_name)', cast: 'text' };
      case 'poverty_score':
        return member
          ? {
              expr: `COALESCE(${this.score('p.extensions')}, ${this.householdOf(this.score('h2.extensions'))})`,
              cast: 'numeric',
            }
          : { expr: this.score('h.extensions'), cast: 'numeric' };
      case 'group_size':
        return member
          ? {
              expr: `(CASE WHEN p.household_id IS NULL THEN NULL ELSE ${this.openMembers('p.household_id', 'p.tenant_id')} END)`,
              cast: 'int',
            }
          : { expr: this.openMembers('h.id', 'h.tenant_id'), cast: 'int' };
      case 'registration_date':
        return { expr: member ? 'p.created_at' : 'h.created_at', cast: 'timestamptz' };
      case 'last_updated':
        return { expr: member ? 'p.updated_at' : 'h.updated_at', cast: 'timestamptz' };
      case 'group_type':
        return { expr: 'h.group_kind', cast: 'text' };
      case 'location':
        return {
          expr: member ? `COALESCE(p.geo_id, ${this.householdOf('h2.geo_id')})` : 'h.geo_id',
          cast: 'uuid',
        };
    }
  }

  compare(expr: string, cast: string, op: Op, values: readonly (string | number)[]): string {
    if (op === 'in') return `${expr} = ANY(${this.p.add(values)}::${cast}[])`;
    return `${expr} ${SQL_OP[op]} ${this.p.add(values[0])}::${cast}`;
  }

  /** Within a geo area (by code or id), its sub-areas included. */
  private located(areaExpr: string, values: readonly (string | number)[]): string {
    return `EXISTS (SELECT 1 FROM geo_areas a JOIN geo_areas g ON g.tenant_id = a.tenant_id AND g.path @> ARRAY[a.id]
             WHERE a.tenant_id = ${this.tenant} AND (a.code = ANY(${this.p.add(values.map(String))}::text[])
                OR a.id::text = ANY($${this.p.values.length}::text[])) AND g.id = ${areaExpr})`;
  }

  private identifier(idType: string, values: readonly string[]): string {
    const type = this.p.add(idType);
    const keys = `${this.p.add(values.map(identityKey))}::text[]`;
    const personHolds = (personExpr: string, tenantExpr: string) =>
      `EXISTS (SELECT 1 FROM person_identities i WHERE i.tenant_id = ${tenantExpr} AND i.person_id = ${personExpr}
         AND i.identity_type = ${type} AND i.identity_key = ANY(${keys}) AND i.removed_at IS NULL AND i.status <> 'invalid')`;
    if (this.entity === 'Member') return personHolds('p.id', 'p.tenant_id');
    return `(EXISTS (SELECT 1 FROM household_identities hi WHERE hi.tenant_id = h.tenant_id AND hi.household_id = h.id
               AND hi.identity_type = ${type} AND hi.identity_key = ANY(${keys}) AND hi.removed_at IS NULL
               AND hi.status <> 'invalid')
          OR EXISTS (SELECT 1 FROM household_members m WHERE m.tenant_id = h.tenant_id AND m.household_id = h.id
               AND m.ended_at IS NULL AND ${personHolds('m.person_id', 'm.tenant_id')} AND ${this.visible('m.person_id')}))`;
  }

  cond(c: Cond): string {
    switch (c.kind) {
      case 'and':
      case 'or':
        return `(${c.items.map((i) => this.cond(i)).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT COALESCE(${this.cond(c.item)}, false))`;
      case 'identifier': {
        const sql = this.identifier(c.idType, c.values);
        return c.op === 'ne' ? `(NOT ${sql})` : sql;
      }
      case 'cmp': {
        if (c.attr === 'location') {
          const { expr } = this.valueOf('location');
          const sql = this.located(expr, c.values);
          return c.op === 'ne' ? `(NOT ${sql})` : sql;
        }
        const { expr, cast } = this.valueOf(c.attr);
        return this.compare(expr, cast, c.op, c.values);
      }
    }
  }

  base(): string {
    return this.entity === 'Member'
      ? `p.tenant_id = ${this.tenant} AND p.status = 'active' AND ${this.visible('p.id')}`
      : `h.tenant_id = ${this.tenant} AND h.status <> 'archived' AND ${this.visible('h.leader_id')}`;
  }

  order(sort: readonly SortKey[]): string {
    const keys = sort.map((s) => {
      // Older first is a smaller age: age sorts by birth date the other way round.
      if (s.attr === 'age') return `p.date_of_birth ${s.desc ? 'ASC' : 'DESC'} NULLS LAST`;
      return `${this.valueOf(s.attr).expr} ${s.desc ? 'DESC' : 'ASC'} NULLS LAST`;
    });
    keys.push(this.entity === 'Member' ? 'p.id' : 'h.id');
    return keys.join(', ');
  }

  get from(): string {
    return this.entity === 'Member' ? 'persons p' : 'households h';
  }

  get idColumn(): string {
    return this.entity === 'Member' ? 'p.id' : 'h.id';
  }
}

/** The total of matching visible rows and the ids of one page, in sort order. */
export async function searchPage(
  q: Queryable,
  scope: SearchScope,
  entity: Entity,
  cond: Cond,
  sort: readonly SortKey[],
  offset: number,
  limit: number,
): Promise<{ total: number; ids: string[] }> {
  const c = new Compiler(scope, entity);
  const where = `${c.base()} AND ${c.cond(cond)}`;
  // The count takes only the parameters of the WHERE clause; sort keys may add more.
  const whereValues = [...c.p.values];
  const order = c.order(sort);
  const total = (
    await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${c.from} WHERE ${where}`, whereValues)
  ).rows[0].n;
  if (total === 0 || offset >= total) return { total, ids: [] };
  const { rows } = await q.query<{ id: string }>(
    `SELECT ${c.idColumn} AS id FROM ${c.from} WHERE ${where} ORDER BY ${order}
      OFFSET ${c.p.add(offset)} LIMIT ${c.p.add(limit)}`,
    c.p.values,
  );
  return { total, ids: rows.map((r) => r.id) };
}

/** Which of these persons (Member) or households (Group) match the condition. */
export async function matchingIds(
  q: Queryable,
  scope: SearchScope,
  entity: Entity,
  cond: Cond,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const c = new Compiler(scope, entity);
  const where = `${c.base()} AND ${c.idColumn} = ANY(${c.p.add(ids)}::uuid[]) AND ${c.cond(cond)}`;
  const { rows } = await q.query<{ id: string }>(
    `SELECT ${c.idColumn} AS id FROM ${c.from} WHERE ${where}`,
    c.p.values,
  );
  return new Set(rows.map((r) => r.id));
}

export interface GeoName {
  id: string;
  code: string | null;
  name: string;
}

export async function geoNames(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
): Promise<Map<string, GeoName>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<GeoName>(
    'SELECT id, code, name FROM geo_areas WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
    [tenantId, ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}
