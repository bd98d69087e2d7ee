import type { ErrorObject } from 'ajv';
import { assertSearchable } from '../../access/person-access.js';
import type { Reader } from '../../access/reader.js';
import type { Actor } from '../../auth/principal.js';
import type { DciConfig } from '../../config.js';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../http/errors.js';
import { ATTRIBUTES, type Entity } from './attributes.js';
import type { RequestStatus, SearchReason } from './codes.js';
import { type Cond, matchedFields, parseQuery, parseSort, QueryRejected, type SortKey } from './query.js';
import {
  type DciRecord,
  dciIdTypesOf,
  groupRecord,
  memberRecord,
  personRecord,
  type RecordContext,
} from './records.js';
import { SearchItem } from './schemas.js';
import { type SearchScope, searchPage } from './search-repo.js';
import { errorMessage, errorPath, schemaErrors } from './validate.js';
import { groupParts, personHouseholds, personViews } from './views.js';

/** One answered search item (SearchResponse.search_response[i]). */
export interface SearchResult {
  reference_id: string;
  timestamp: string;
  status: RequestStatus;
  status_reason_code?: SearchReason;
  status_reason_message?: string;
  data?: { version: string; reg_type: string; reg_record_type: string; reg_records: DciRecord[] };
  pagination?: { page_size: number; page_number: number; total_count: number };
  locale?: string;
}

/** What is stored of an answered item: no records, only its status and counts. */
export interface SearchOutcome {
  reference_id: string;
  status: RequestStatus;
  status_reason_code?: SearchReason;
  status_reason_message?: string;
  total_count?: number;
}

/** A search item checked and parsed, or the reason it is rejected. */
export type PreparedItem =
  | { ok: false; reference_id: string; reason: SearchReason; message: string; locale?: string }
  | {
      ok: true;
      item: SearchItem;
      entity: Entity;
      recordType: 'SRPerson' | 'Member' | 'Group';
      cond: Cond;
      sort: SortKey[];
      page: { size: number; number: number } | null;
      matched: Set<string>;
    };

const REASON_BY_FIELD: [RegExp, SearchReason][] = [
  [/^reference_id/, 'rjct.reference_id.invalid'],
  [/^timestamp/, 'rjct.timestamp.invalid'],
  [/^search_criteria\.sort/, 'rjct.sort.invalid'],
  [/^(search_criteria\.)?pagination/, 'rjct.pagination.invalid'],
];

/** The reason code of an invalid item: reference_id, then timestamp, sort, pagination, criteria. */
function reasonOf(errors: ErrorObject[]): { reason: SearchReason; message: string } {
  const described = errors.map((e) => ({ path: errorPath(e), message: errorMessage(e) }));
  for (const [re, reason] of REASON_BY_FIELD) {
    const hit = described.find((d) => re.test(d.path));
    if (hit) return { reason, message: `${hit.path} ${hit.message}` };
  }
  const first = described[0];
  return {
    reason: 'rjct.search_criteria.invalid',
    message: `${first.path || 'search_request'} ${first.message}`,
  };
}

function referenceOf(raw: unknown): string {
  const r = (raw as { reference_id?: unknown } | null)?.reference_id;
  return typeof r === 'string' ? r.slice(0, 99) : '';
}

/** Checks and parses every item of a batch; duplicates of a reference_id are rejected. */
export function prepareSearchItems(raw: readonly unknown[], config: DciConfig): PreparedItem[] {
  const seen = new Set<string>();
  return raw.map((r): PreparedItem => {
    const reference_id = referenceOf(r);
    const errors = schemaErrors(SearchItem, r);
    if (errors) return { ok: false, reference_id, ...reasonOf(errors) };
    const item = r as SearchItem;
    const locale = item.locale;
    if (seen.has(item.reference_id)) {
      return {
        ok: false,
        reference_id,
        locale,
        reason: 'rjct.reference_id.duplicate',
        message: 'reference_id repeats an earlier item',
      };
    }
    seen.add(item.reference_id);
    const c = item.search_criteria;
    const pagination = c.pagination ?? item.pagination;
    if (pagination && pagination.page_size > config.maxRecords) {
      return {
        ok: false,
        reference_id,
        locale,
        reason: 'rjct.pagination.invalid',
        message: `page_size must be at most ${config.maxRecords}`,
      };
    }
    try {
      const { cond, entity } = parseQuery(c.query_type, c.query, {
        entity: c.response_entity ?? null,
        idTypes: config.idTypes,
      });
      const sort = parseSort(c.sort, entity);
      const matched = matchedFields(cond);
      for (const s of sort) matched.add(ATTRIBUTES[s.attr].field);
      const recordType =
        entity === 'Group' ? 'Group' : c.response_entity === 'Member' ? 'Member' : 'SRPerson';
      const page = pagination ? { size: pagination.page_size, number: pagination.page_number ?? 1 } : null;
      return { ok: true, item, entity, recordType, cond, sort, page, matched };
    } catch (err) {
      if (err instanceof QueryRejected)
        return { ok: false, reference_id, locale, reason: err.reason, message: err.message };
      throw err;
    }
  });
}

export interface SearchRunContext {
  tx: Tx;
  actor: Actor;
  tenantId: string;
  config: DciConfig;
  /** The caller as the access policy sees it (src/access/reader.ts). */
  reader: Reader;
}

export function recordContext(config: DciConfig): RecordContext {
  const [ext, field] = config.povertyScoreField.split('.');
  return { dciIdTypes: dciIdTypesOf(config.idTypes), povertyPath: [ext, field] };
}

export function scopeOf(actor: Actor, tenantId: string, config: DciConfig): SearchScope {
  const [ext, field] = config.povertyScoreField.split('.');
  const v = actor.principal.verticalIds;
  return { tenantId, verticals: v.length > 0 ? [...v] : null, povertyPath: [ext, field] };
}

function rejected(p: Extract<PreparedItem, { ok: false }>, now: string): SearchResult {
  return {
    reference_id: p.reference_id,
    timestamp: now,
    status: 'rjct',
    status_reason_code: p.reason,
    status_reason_message: p.message.slice(0, 999),
    ...(p.locale ? { locale: p.locale } : {}),
  };
}

/** Runs one prepared item: count and page in SQL under the consent filter, records through the decision. */
async function runItem(ctx: SearchRunContext, p: PreparedItem, now: string): Promise<SearchResult> {
  if (!p.ok) return rejected(p, now);
  const { tx, actor, tenantId, config, reader } = ctx;
  try {
    for (const field of p.matched) assertSearchable(reader, field);
  } catch (err) {
    if (err instanceof AppError && err.status === 403) {
      return rejected(
        {
          ok: false,
          reference_id: p.item.reference_id,
          reason: 'rjct.search_criteria.invalid',
          message: err.message,
          locale: p.item.locale,
        },
        now,
      );
    }
    throw err;
  }
  const limit = p.page ? p.page.size : config.maxRecords;
  const offset = p.page ? (p.page.number - 1) * p.page.size : 0;
  const { total, ids } = await searchPage(
    tx,
    scopeOf(actor, tenantId, config),
    p.entity,
    p.cond,
    p.sort,
    offset,
    limit,
  );
  if (!p.page && total > config.maxRecords) {
    return rejected(
      {
        ok: false,
        reference_id: p.item.reference_id,
        locale: p.item.locale,
        reason: 'rjct.search.too_many_records_found',
        message: `${total} records match; ask for pages of at most ${config.maxRecords} with pagination`,
      },
      now,
    );
  }
  const rctx = recordContext(config);
  let records: DciRecord[];
  if (p.entity === 'Group') {
    const groups = await groupParts(tx, actor, tenantId, ids, 'search', p.matched);
    records = groups.map((g) => groupRecord(g, rctx));
  } else {
    const views = await personViews(tx, actor, tenantId, ids, 'search', p.matched);
    const households = await personHouseholds(tx, actor, tenantId, views, 'search');
    records = views.map((v) => {
      const theirs = households.get(v.person_id) ?? [];
      return p.recordType === 'Member'
        ? memberRecord(v, rctx, null, null, theirs)
        : personRecord(v, rctx, theirs);
    });
  }
  const c = p.item.search_criteria;
  return {
    reference_id: p.item.reference_id,
    timestamp: now,
    status: 'succ',
    data: {
      version: '1.0.0',
      reg_type: c.reg_type ?? 'ns:org:RegistryType:Social',
      reg_record_type: p.recordType,
      reg_records: records,
    },
    pagination: { page_size: limit, page_number: p.page?.number ?? 1, total_count: total },
    ...(p.item.locale ? { locale: p.item.locale } : {}),
  };
}

/** Answers every item of a batch, each on its own. */
export async function runSearch(
  ctx: SearchRunContext,
  items: readonly PreparedItem[],
): Promise<SearchResult[]> {
  const now = new Date().toISOString();
  const out: SearchResult[] = [];
  for (const p of items) out.push(await runItem(ctx, p, now));
  return out;
}

export function outcomeOf(results: readonly SearchResult[]): SearchOutcome[] {
  return results.map((r) => ({
    reference_id: r.reference_id,
    status: r.status,
    ...(r.status_reason_code ? { status_reason_code: r.status_reason_code } : {}),
    ...(r.status_reason_message ? { status_reason_message: r.status_reason_message } : {}),
    ...(r.pagination ? { total_count: r.pagination.total_count } : {}),
  }));
}
