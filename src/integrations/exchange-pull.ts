import { decideMany, personView } from '../access/person-access.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError } from '../http/errors.js';
import { decodeIdCursor, encodeCursor } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { assertGeoArea } from '../registry/geo.js';
import { findHouseholds } from '../registry/household-repo.js';
import { householdView } from '../registry/household-service.js';
import type { PersonRow } from '../registry/person-repo.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { isHouseholdField, isLinkField, LINK_FIELDS } from './contract-fields.js';
import type { ContractRow } from './contract-repo.js';
import { admit, completed, logRefusal } from './exchange-gate.js';
import {
  csvColumns,
  csvRow,
  type HouseholdPart,
  type LinksPart,
  linkShown,
  projectPerson,
} from './exchange-project.js';
import {
  activeRelationshipsOf,
  type Eligibility,
  eligibleChunk,
  openMembers,
  openMembershipsOf,
  pageEnd,
} from './exchange-pull-repo.js';
import * as xrepo from './exchange-repo.js';
import {
  type ExchangeFormat,
  PULL_DEFAULT_LIMIT,
  type PullFilters,
  type PullQuery,
} from './exchange-schemas.js';
import { csvLines } from './formats/csv.js';
import { XML_CLOSE, xmlOpen, xmlRecord } from './formats/xml.js';

/** Persons read per database round trip while a pull streams (one short transaction each). */
const CHUNK = 500;

export interface PullResult {
  exchangeId: string;
  format: ExchangeFormat;
  nextCursor: string | null;
  /** The response body, produced chunk by chunk as the client reads it. */
  body: AsyncGenerator<string>;
}

interface Started {
  row: xrepo.ExchangeRow;
  contract: ContractRow;
  eligibility: Eligibility;
  lastId: string | null;
  nextCursor: string | null;
}

function filtersOf(q: PullQuery): PullFilters {
  const f: PullFilters = {};
  if (q.updated_since) f.updated_since = q.updated_since;
  if (q.geo_id) f.geo_id = q.geo_id;
  if (q.status) f.status = q.status;
  if (q.vertical_id) f.vertical_id = q.vertical_id;
  return f;
}

export function createPullService(db: Database, settings: TenantSettingsCache) {
  /** One chunk of persons, decided, masked and projected, in one transaction. */
  async function chunkOf(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    rows: PersonRow[],
    contract: ContractRow,
  ): Promise<Record<string, unknown>[]> {
    const decisions = await decideMany(
      tx,
      actor,
      tenantId,
      rows.map((r) => r.id),
      'export',
    );
    const visible = rows.filter((r) => decisions.get(r.id)?.visible);
    const overrides = (await settings.get(tx, tenantId)).fieldClassification;
    const households = contract.field_list.some(isHouseholdField)
      ? await householdsOf(tx, actor, tenantId, visible)
      : new Map<string, HouseholdPart>();
    const links = contract.field_list.some(isLinkField)
      ? await linksOf(tx, actor, tenantId, visible, contract.field_list)
      : new Map<string, Omit<LinksPart, 'hidden'>>();
    return visible.map((r) => {
      const decision = decisions.get(r.id)!;
      const view = personView(r, decision, overrides);
      const household = r.household_id ? (households.get(r.household_id) ?? null) : null;
      const own = links.get(r.id) ?? { memberships: [], relationships: [] };
      const hidden = LINK_FIELDS.filter((f) => !linkShown(f, decision, overrides));
      return projectPerson(view, contract.field_list, household, { ...own, hidden }).record;
    });
  }

  /**
   * Open household memberships and active family relationships of a chunk's persons. A
   * relationship appears only when the caller may also see the other person (an active consent
   * allowing export, as for the person itself): otherwise even the other person's id would leak.
   */
  async function linksOf(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    persons: PersonRow[],
    fieldList: readonly string[],
  ): Promise<Map<string, Omit<LinksPart, 'hidden'>>> {
    const ids = persons.map((p) => p.id);
    const out = new Map<string, Omit<LinksPart, 'hidden'>>(
      ids.map((id) => [id, { memberships: [], relationships: [] }]),
    );
    if (fieldList.includes('memberships')) {
      for (const { person_id, ...m } of await openMembershipsOf(tx, tenantId, ids)) {
        out.get(person_id)?.memberships.push(m);
      }
    }
    if (fieldList.includes('relationships')) {
      const rels = await activeRelationshipsOf(tx, tenantId, ids);
      const others = [...new Set(rels.flatMap((r) => [r.person_id, r.related_person_id]))];
      const seen = await decideMany(tx, actor, tenantId, others, 'export');
      const shown = (id: string) => {
        const d = seen.get(id);
        return d?.visible === true && d.level === 'full';
      };
      for (const r of rels) {
        if (!shown(r.person_id) || !shown(r.related_person_id)) continue;
        out.get(r.person_id)?.relationships.push(r);
        out.get(r.related_person_id)?.relationships.push(r);
      }
    }
    return out;
  }

  /** Households of a chunk, seen through their leaders' consent; members the caller may see. */
  async function householdsOf(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    persons: PersonRow[],
  ): Promise<Map<string, HouseholdPart>> {
    const ids = [...new Set(persons.map((p) => p.household_id).filter((h): h is string => h !== null))];
    const rows = await findHouseholds(tx, tenantId, ids);
    const members = await openMembers(tx, tenantId, ids);
    const people = [...new Set([...rows.map((h) => h.leader_id), ...members.map((m) => m.person_id)])];
    const decisions = await decideMany(tx, actor, tenantId, people, 'export');
    const out = new Map<string, HouseholdPart>();
    for (const h of rows) {
      const d = decisions.get(h.leader_id);
      const shown = d?.visible === true;
      out.set(h.id, {
        view: shown ? householdView(h, d) : null,
        hidden: !shown,
        members: members
          .filter((m) => m.household_id === h.id && decisions.get(m.person_id)?.visible)
          .map((m) => ({ person_id: m.person_id, relationship_type: m.relationship_type })),
      });
    }
    return out;
  }

  async function start(
    actor: Actor,
    tenantId: string,
    integrationId: string,
    q: PullQuery,
  ): Promise<Started> {
    const limit = q.limit ?? PULL_DEFAULT_LIMIT;
    const afterId = decodeIdCursor(q.cursor);
    const filters = filtersOf(q);
    return tenantTx(db, actor, async (tx) => {
      const { integration, contract } = await admit(
        tx,
        actor,
        tenantId,
        integrationId,
        'pull',
        q.contract_id,
      );
      if (filters.vertical_id && !integration.vertical_ids.includes(filters.vertical_id)) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', 'vertical_id: not one of the integration’s verticals', {
          status: 400,
          errors: [{ field: 'vertical_id', message: 'not one of the integration’s verticals' }],
        });
      }
      if (filters.geo_id) await assertGeoArea(tx, tenantId, filters.geo_id);
      const required = contract.consent_requirements?.vertical_ids ?? [];
      const callerVerticals = actor.principal.verticalIds.length > 0 ? actor.principal.verticalIds : null;
      const eligibility: Eligibility = {
        tenantId,
        requiredVerticalIds: required,
        anyVerticalIds: filters.vertical_id ? [filters.vertical_id] : callerVerticals,
        updatedSince: filters.updated_since ?? null,
        verificationStatus: filters.status ?? null,
        geoId: filters.geo_id ?? null,
      };
      const end = await pageEnd(tx, eligibility, afterId, limit);
      const nextCursor = end.more && end.lastId ? encodeCursor([end.lastId]) : null;
      const row = await xrepo.insertExchange(tx, {
        tenantId,
        id: uuidv7(),
        integrationId,
        contractId: contract.id,
        requestedContractId: contract.id,
        direction: 'pull',
        status: 'running',
        format: q.format ?? 'json',
        clientId: actor.principal.clientId,
        correlationId: actor.correlationId,
        dataCategories: contract.data_categories,
        filters: { ...filters, limit, ...(q.cursor ? { cursor: q.cursor } : {}) },
        consentChecks: {
          purpose: 'export',
          grace_period_allowed: false,
          required_vertical_ids: required,
          any_of_vertical_ids: eligibility.anyVerticalIds,
        },
        started: true,
      });
      return { row, contract, eligibility, lastId: end.lastId, nextCursor };
    });
  }

  async function* stream(
    actor: Actor,
    tenantId: string,
    s: Started,
    afterId: string | null,
    limit: number,
  ): AsyncGenerator<string> {
    const format = s.row.format ?? 'json';
    const columns = csvColumns(s.contract.field_list);
    let done = false;
    let returned = 0;
    try {
      if (format === 'json') {
        yield `{"exchange_id":${JSON.stringify(s.row.id)},"status":"completed","payload":[`;
      } else if (format === 'csv') {
        yield csvLines([columns]);
      } else {
        yield xmlOpen(s.row.id);
      }
      let after = afterId;
      let read = 0;
      while (read < limit) {
        const size = Math.min(CHUNK, limit - read);
        const { count, last, records } = await tenantTx(db, actor, async (tx) => {
          const rows = await eligibleChunk(tx, s.eligibility, after, s.lastId, size);
          if (rows.length === 0) return { count: 0, last: after, records: [] };
          const records = await chunkOf(tx, actor, tenantId, rows, s.contract);
          return { count: rows.length, last: rows[rows.length - 1].id, records };
        });
        read += count;
        after = last;
        if (records.length > 0) {
          if (format === 'json') {
            const body = records.map((r) => JSON.stringify(r)).join(',');
            yield returned === 0 ? body : `,${body}`;
          } else if (format === 'csv') {
            yield csvLines(records.map((r) => csvRow(r, columns)));
          } else {
            yield records.map(xmlRecord).join('');
          }
          returned += records.length;
        }
        if (count < size || (s.lastId !== null && last === s.lastId)) break;
      }
      await tenantTx(db, actor, async (tx) => {
        const row = await xrepo.finishExchange(tx, tenantId, s.row.id, {
          status: 'completed',
          recordsReturned: returned,
        });
        await completed(tx, actor, tenantId, row);
      });
      done = true;
      if (format === 'json') yield `],"next_cursor":${JSON.stringify(s.nextCursor)}}`;
      else if (format === 'xml') yield XML_CLOSE;
    } finally {
      if (!done) {
        // The client went away or a read failed: the page was not delivered whole.
        await tenantTx(db, actor, (tx) =>
          xrepo.finishExchange(tx, tenantId, s.row.id, {
            status: 'failed',
            recordsReturned: returned,
            errorCode: 'ERR_EXCHANGE_INTERRUPTED',
            errorDetail: 'the pull stopped before the page was complete',
          }),
        ).catch(() => undefined);
      }
    }
  }

  return {
    /**
     * A pull: admitted (contract rules), filtered, then streamed page by page. A refusal leaves
     * a failed exchange row and is rethrown; the page's exchange row is completed when its
     * last record has been produced.
     */
    async pull(actor: Actor, integrationId: string, q: PullQuery): Promise<PullResult> {
      const tenantId = requireTenant(actor);
      let started: Started;
      try {
        started = await start(actor, tenantId, integrationId, q);
      } catch (err) {
        await logPullRefusal(db, actor, tenantId, integrationId, q, err);
        throw err;
      }
      const limit = q.limit ?? PULL_DEFAULT_LIMIT;
      return {
        exchangeId: started.row.id,
        format: started.row.format ?? 'json',
        nextCursor: started.nextCursor,
        body: stream(actor, tenantId, started, decodeIdCursor(q.cursor), limit),
      };
    },
  };
}

async function logPullRefusal(
  db: Database,
  actor: Actor,
  tenantId: string,
  integrationId: string,
  q: PullQuery,
  err: unknown,
): Promise<void> {
  if (!(err instanceof AppError) || err.code === 'ERR_NOT_FOUND') return;
  await logRefusal(db, {
    tenantId,
    integrationId,
    direction: 'pull',
    clientId: actor.principal.clientId,
    correlationId: actor.correlationId,
    contractId: q.contract_id,
    format: q.format ?? 'json',
    filters: filtersOf(q),
    error: err,
  }).catch(() => undefined);
}
