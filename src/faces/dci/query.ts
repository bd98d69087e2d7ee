import {
  ATTRIBUTES,
  type AttributeName,
  attributeOf,
  type Entity,
  GROUP_TYPE_TO_KIND,
  type Op,
  opsOf,
  SEX_TO_GENDER,
} from './attributes.js';

/**
 * DCI queries (idtype-value, expression, predicate) parsed into a small condition tree over the
 * attribute allow-list, values coerced by attribute type. Nothing here knows SQL; search-repo.ts
 * compiles the tree with parameters (docs/decisions/0063-dci-queries.md).
 */

export type Scalar = string | number;

export type Cond =
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  | { kind: 'cmp'; attr: AttributeName; op: Op; values: Scalar[] }
  | { kind: 'identifier'; idType: string; op: 'eq' | 'ne' | 'in'; values: string[] };

export type QueryType = 'idtype-value' | 'expression' | 'predicate';

/** Why a query cannot run: the reason code of its item and a message. */
export class QueryRejected extends Error {
  constructor(
    readonly reason: 'rjct.search_criteria.invalid' | 'rjct.filter.invalid' | 'rjct.sort.invalid',
    message: string,
  ) {
    super(message.slice(0, 999));
  }
}

const criteria = (m: string) => new QueryRejected('rjct.search_criteria.invalid', m);
const filter = (m: string) => new QueryRejected('rjct.filter.invalid', m);

export interface QueryContext {
  entity: Entity;
  /** DCI identifier type (upper case) → Hearth id-type. */
  idTypes: Readonly<Record<string, string>>;
}

const MAX_CONDITIONS = 50;
const MAX_DEPTH = 6;
const MAX_IN = 100;

/** The Hearth id-type of a DCI identifier type code (or a Hearth code itself), or null. */
export function hearthIdType(code: string, idTypes: Readonly<Record<string, string>>): string | null {
  const upper = code.trim().toUpperCase();
  if (Object.hasOwn(idTypes, upper)) return idTypes[upper];
  const lower = code.trim().toLowerCase();
  return Object.values(idTypes).includes(lower) ? lower : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

function validDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** One value coerced to the attribute's type ("25" → 25 for age); refused with rjct.filter.invalid. */
function coerce(attr: AttributeName, raw: unknown): Scalar {
  const { type } = ATTRIBUTES[attr];
  const bad = () => filter(`${attr}: ${JSON.stringify(raw)?.slice(0, 100)} is not a valid ${type} value`);
  switch (type) {
    case 'int': {
      if (typeof raw === 'number' && Number.isInteger(raw) && Math.abs(raw) < 1e9) return raw;
      if (typeof raw === 'string' && /^\s*[+-]?\d{1,9}\s*$/.test(raw)) return Number.parseInt(raw, 10);
      throw bad();
    }
    case 'number': {
      if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
      if (typeof raw === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw))
        return Number.parseFloat(raw);
      throw bad();
    }
    case 'date': {
      if (typeof raw !== 'string') throw bad();
      const s = raw.trim();
      if (validDate(s)) return s;
      if (DATE_TIME.test(s) && validDate(s.slice(0, 10))) return s.slice(0, 10);
      throw bad();
    }
    case 'datetime': {
      if (typeof raw !== 'string') throw bad();
      const s = raw.trim();
      if (validDate(s)) return `${s}T00:00:00Z`;
      if (DATE_TIME.test(s) && !Number.isNaN(Date.parse(s))) return new Date(s).toISOString();
      throw bad();
    }
    case 'sex': {
      if (typeof raw !== 'string') throw bad();
      const code = SEX_TO_GENDER[raw.trim().toLowerCase()];
      if (!code) throw bad();
      return code;
    }
    case 'group_type': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad();
      const s = String(raw).trim().toLowerCase();
      const kind = Object.hasOwn(GROUP_TYPE_TO_KIND, s) ? GROUP_TYPE_TO_KIND[s] : s;
      if (!/^[a-z0-9][a-z0-9_.:-]{0,63}$/.test(kind)) throw bad();
      return kind;
    }
    case 'text':
    case 'geo': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad();
      const s = String(raw).trim();
      if (s.length === 0 || s.length > 200) throw bad();
      return type === 'text' ? s.toLowerCase() : s;
    }
  }
}

/** `in` takes a list: an array, or a comma-separated string (predicate values arrive as strings). */
function listOf(raw: unknown, what: string): unknown[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
  if (!list || list.length === 0 || list.length > MAX_IN) {
    throw filter(`${what}: "in" takes a list of 1 to ${MAX_IN} values`);
  }
  return list;
}

class Budget {
  n = 0;
  take(): void {
    if (++this.n > MAX_CONDITIONS) throw criteria(`a query may hold at most ${MAX_CONDITIONS} conditions`);
  }
}

/** One comparison: attribute name, operator, raw value. */
function comparison(name: unknown, op: Op, raw: unknown, ctx: QueryContext, budget: Budget): Cond {
  budget.take();
  if (typeof name !== 'string' || name.length === 0 || name.length > 100) {
    throw criteria('attribute_name must be a non-empty string');
  }
  const idType = hearthIdType(name, ctx.idTypes);
  if (idType && !attributeOf(name)) {
    if (op !== 'eq' && op !== 'ne' && op !== 'in') throw criteria(`${name} takes only eq, ne and in`);
    const values = (op === 'in' ? listOf(raw, name) : [raw]).map((v) => {
      if (
        (typeof v !== 'string' && typeof v !== 'number') ||
        String(v).trim() === '' ||
        String(v).length > 100
      ) {
        throw filter(`${name}: not an identifier value`);
      }
      return String(v).trim();
    });
    return { kind: 'identifier', idType, op, values };
  }
  const attr = attributeOf(name);
  if (!attr) throw criteria(`unknown attribute ${name.slice(0, 100)}`);
  const def = ATTRIBUTES[attr];
  if (!def.entities.includes(ctx.entity)) throw criteria(`${attr} does not apply to ${ctx.entity} records`);
  if (!opsOf(def.type).includes(op)) throw criteria(`${attr} does not take the operator ${op}`);
  const values = op === 'in' ? listOf(raw, attr).map((v) => coerce(attr, v)) : [coerce(attr, raw)];
  return { kind: 'cmp', attr, op, values };
}

const PREDICATE_OPS: Readonly<Record<string, Op>> = {
  gt: 'gt',
  lt: 'lt',
  eq: 'eq',
  ge: 'ge',
  le: 'le',
  in: 'in',
};

function predicateExpression(e: unknown, ctx: QueryContext, budget: Budget): Cond {
  if (!isObject(e)) throw criteria('expression1 and expression2 must be objects');
  const op =
    typeof e.operator === 'string' && Object.hasOwn(PREDICATE_OPS, e.operator)
      ? PREDICATE_OPS[e.operator]
      : null;
  if (!op) throw criteria('operator must be one of gt, lt, eq, ge, le, in');
  if (!('attribute_value' in e)) throw criteria('attribute_value is required');
  return comparison(e.attribute_name, op, e.attribute_value, ctx, budget);
}

/** `[{seq_num?, expression1, condition?, expression2?}]`: items in seq_num order, joined by AND. */
function predicate(query: unknown, ctx: QueryContext): Cond {
  if (!Array.isArray(query) || query.length === 0 || query.length > 20) {
    throw criteria('a predicate query is a list of 1 to 20 predicates');
  }
  const budget = new Budget();
  const items = query.map((item, i) => {
    if (!isObject(item)) throw criteria('each predicate must be an object');
    const seq = item.seq_num;
    if (seq !== undefined && (typeof seq !== 'number' || !Number.isFinite(seq)))
      throw criteria('seq_num must be a number');
    const first = predicateExpression(item.expression1, ctx, budget);
    const hasSecond = item.expression2 !== undefined;
    if (item.condition === undefined && !hasSecond) return { seq: seq ?? i, i, cond: first };
    if (!hasSecond || (item.condition !== 'and' && item.condition !== 'or' && item.condition !== 'not')) {
      throw criteria('condition (and, or, not) and expression2 go together');
    }
    const second = predicateExpression(item.expression2, ctx, budget);
    const cond: Cond =
      item.condition === 'not'
        ? { kind: 'and', items: [first, { kind: 'not', item: second }] }
        : { kind: item.condition, items: [first, second] };
    return { seq: seq ?? i, i, cond };
  });
  items.sort((a, b) => a.seq - b.seq || a.i - b.i);
  return items.length === 1 ? items[0].cond : { kind: 'and', items: items.map((x) => x.cond) };
}

const EXPRESSION_OPS: Readonly<Record<string, Op>> = {
  $eq: 'eq',
  $ne: 'ne',
  $lt: 'lt',
  $lte: 'le',
  $gt: 'gt',
  $gte: 'ge',
  $in: 'in',
};

/** A Mongo-like filter: `{attr: value | {$op: value…}, $and: [...], $or: [...]}`, keys joined by AND. */
function mongoFilter(f: unknown, ctx: QueryContext, budget: Budget, depth: number): Cond {
  if (depth > MAX_DEPTH) throw criteria(`expressions nest at most ${MAX_DEPTH} levels`);
  if (!isObject(f)) throw criteria('an expression filter must be an object');
  const keys = Object.keys(f);
  if (keys.length === 0) throw criteria('an expression filter must not be empty');
  const parts: Cond[] = [];
  for (const key of keys) {
    const value = f[key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0 || value.length > 20) {
        throw criteria(`${key} takes a list of 1 to 20 filters`);
      }
      const items = value.map((v) => mongoFilter(v, ctx, budget, depth + 1));
      parts.push(items.length === 1 ? items[0] : { kind: key === '$and' ? 'and' : 'or', items });
    } else if (key.startsWith('$')) {
      throw criteria(
        `unsupported operator ${key.slice(0, 40)} (allowed: $and, $or, $eq, $ne, $lt, $lte, $gt, $gte, $in)`,
      );
    } else if (isObject(value)) {
      const ops = Object.keys(value);
      if (ops.length === 0) throw criteria(`${key.slice(0, 100)}: empty condition`);
      for (const o of ops) {
        if (!Object.hasOwn(EXPRESSION_OPS, o)) {
          throw criteria(
            `unsupported operator ${o.slice(0, 40)} (allowed: $eq, $ne, $lt, $lte, $gt, $gte, $in)`,
          );
        }
        parts.push(comparison(key, EXPRESSION_OPS[o], value[o], ctx, budget));
      }
    } else {
      parts.push(comparison(key, 'eq', value, ctx, budget));
    }
  }
  return parts.length === 1 ? parts[0] : { kind: 'and', items: parts };
}

/** `{type, value: {expression: {collection?, query: {...}} | {...}}}`: the filter and its collection. */
function expressionParts(query: unknown): { body: unknown; collection: Entity | null } {
  if (!isObject(query) || !isObject(query.value) || !('expression' in query.value)) {
    throw criteria('an expression query is {type, value: {expression}}');
  }
  const e = query.value.expression;
  if (!isObject(e)) throw criteria('value.expression must be an object');
  if (!isObject(e.query)) return { body: e, collection: null };
  const extra = Object.keys(e).filter((k) => k !== 'query' && k !== 'collection');
  if (extra.length > 0) throw criteria(`unknown expression field ${extra[0].slice(0, 40)}`);
  if (e.collection === undefined) return { body: e.query, collection: null };
  if (e.collection === 'Group') return { body: e.query, collection: 'Group' };
  if (e.collection === 'Member' || e.collection === 'Person' || e.collection === 'SRPerson') {
    return { body: e.query, collection: 'Member' };
  }
  throw criteria('collection must be Group or Member');
}

/** `{type: "UIN", value: "…"}`. */
function idtypeValue(query: unknown, ctx: QueryContext): Cond {
  if (!isObject(query) || typeof query.type !== 'string')
    throw criteria('an idtype-value query is {type, value}');
  const idType = hearthIdType(query.type, ctx.idTypes);
  if (!idType) throw criteria(`identifier type ${query.type.slice(0, 40)} is not supported`);
  const v = query.value;
  if ((typeof v !== 'string' && typeof v !== 'number') || String(v).trim() === '' || String(v).length > 100) {
    throw filter('value must be an identifier (a string or a number)');
  }
  return { kind: 'identifier', idType, op: 'eq', values: [String(v).trim()] };
}

/**
 * Parses one query by its declared type (the spec's overlapping schemas are not relied on). The
 * entity is response_entity, else an expression's collection, else Member.
 */
export function parseQuery(
  queryType: QueryType,
  query: unknown,
  ctx: Omit<QueryContext, 'entity'> & { entity: Entity | null },
): { cond: Cond; entity: Entity } {
  if (queryType === 'expression') {
    const { body, collection } = expressionParts(query);
    if (collection && ctx.entity && collection !== ctx.entity) {
      throw criteria(`the expression's collection ${collection} differs from response_entity ${ctx.entity}`);
    }
    const entity = ctx.entity ?? collection ?? 'Member';
    return { cond: mongoFilter(body, { ...ctx, entity }, new Budget(), 1), entity };
  }
  const entity = ctx.entity ?? 'Member';
  const cond =
    queryType === 'idtype-value'
      ? idtypeValue(query, { ...ctx, entity })
      : predicate(query, { ...ctx, entity });
  return { cond, entity };
}

/** Person fields a condition matches on (for the consent-and-masking decision). */
export function matchedFields(cond: Cond, out: Set<string> = new Set()): Set<string> {
  switch (cond.kind) {
    case 'and':
    case 'or':
      for (const c of cond.items) matchedFields(c, out);
      break;
    case 'not':
      matchedFields(cond.item, out);
      break;
    case 'identifier':
      // An exact identifier the caller holds: allowed to every reader, no match restriction
      // (src/access CriterionUse 'identifier'); the persons found still pass the decision.
      break;
    case 'cmp':
      out.add(ATTRIBUTES[cond.attr].field);
      break;
  }
  return out;
}

export interface SortKey {
  attr: AttributeName;
  desc: boolean;
}

/** `sort: [{attribute_name, sort_order}]` over sortable attributes of the entity. */
export function parseSort(
  sort: readonly { attribute_name: string; sort_order?: 'asc' | 'desc' }[] | undefined,
  entity: Entity,
): SortKey[] {
  const keys: SortKey[] = [];
  for (const s of sort ?? []) {
    const attr = attributeOf(s.attribute_name);
    if (!attr || !ATTRIBUTES[attr].sortable || !ATTRIBUTES[attr].entities.includes(entity)) {
      throw new QueryRejected(
        'rjct.sort.invalid',
        `cannot sort ${entity} records by ${s.attribute_name.slice(0, 100)}`,
      );
    }
    if (keys.some((k) => k.attr === attr)) {
      throw new QueryRejected('rjct.sort.invalid', `${attr} is named twice in sort`);
    }
    keys.push({ attr, desc: s.sort_order === 'desc' });
  }
  return keys;
}
