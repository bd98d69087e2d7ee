import { type ConsentState, stateOfRank } from '../access/consent-state.js';
import { decideMany, decider, type PersonDecision } from '../access/person-access.js';
import { readerOf } from '../access/reader.js';
import { recordAudit } from '../audit/audit.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';
import { readTx, requireTenant, tenantTx } from '../db/tx.js';
import { AppError } from '../http/errors.js';
import { decodeIdCursor, encodeCursor } from '../http/pagination.js';
import { enqueueJob, type Job, renewJobLock } from '../jobs/queue.js';
import { PermanentJobError } from '../jobs/runner.js';
import { uuidv7 } from '../lib/ids.js';
import { assertGeoArea } from '../registry/geo.js';
import { findHouseholds, openMembersOfHouseholds } from '../registry/household-repo.js';
import { householdView } from '../registry/household-service.js';
import type { PersonRow } from '../registry/person-repo.js';
import { personView } from '../registry/person-view.js';
import { isHouseholdField, isLinkField, LINK_FIELDS } from './contract-fields.js';
import type { ContractRow } from './contract-repo.js';
import * as crepo from './contract-repo.js';
import {
  admit,
  assertContractInForce,
  assertOwnClient,
  completed,
  exchangeAudit,
  integrationActor,
  loadIntegration,
  logRefusal,
  reloadExchange,
} from './exchange-gate.js';
import {
  csvColumns,
  csvRow,
  type HouseholdPart,
  type LinksPart,
  linkShown,
  projectPerson,
} from './exchange-project.js';
import {
  activeMeetingRequirements,
  activeRelationshipsOf,
  type Eligibility,
  type EligibleRow,
  eligibleChunk,
  openMembershipsOf,
  pagePlan,
} from './exchange-pull-repo.js';
import * as xrepo from './exchange-repo.js';
import {
  type ExchangeFormat,
  PULL_DEFAULT_LIMIT,
  type PullFileAccepted,
  type PullFilters,
  type PullQuery,
} from './exchange-schemas.js';
import { csvLines } from './formats/csv.js';
import { XML_CLOSE, xmlOpen, xmlRecord } from './formats/xml.js';
import { assertIntegrationCanExchange } from './lifecycle.js';
import type * as repo from './repo.js';

/** Persons read per database round trip while a pull streams (one short transaction each). */
const CHUNK = 2000;

/** Chunks of a streamed pull read at once (each on its own connection) while one is rendered. */
const READ_AHEAD = 2;

/** The job that writes a file pull's output. */
export const PULL_FILE_JOB = xrepo.PULL_FILE_JOB_KIND;

/** A file pull's output is written in slices of about this many bytes, one row each. */
const OUTPUT_SLICE_BYTES = 256 * 1024;

/** How long a file pull's output is kept after it is completed. */
export const OUTPUT_KEEP_SECONDS = 24 * 3600;

/** A file pull's claim on its job; renewed after every slice it stores. */
export const FILE_PULL_LOCK_SECONDS = 900;

const filePullBusy = (exchangeId: string | null) =>
  new AppError(
    'ERR_STATE_CONFLICT',
    'a file pull of this integration is still in progress: wait for it (and fetch it) before asking for another',
    { extra: exchangeId ? { exchange_id: exchangeId } : {} },
  );

/** The unique index behind the one-file-pull rule, for two requests that raced past the check. */
function oneFilePullAtATime(err: unknown): never {
  if (
    isPgError(err) &&
    err.code === PgCode.uniqueViolation &&
    err.constraint === 'integration_exchanges_one_file_pull'
  )
    throw filePullBusy(null);
  throw err;
}

/** A file pull's writer found that a later attempt took the exchange over. */
class Superseded extends Error {}

export interface PullResult {
  delivery: 'inline';
  exchangeId: string;
  format: ExchangeFormat;
  nextCursor: string | null;
  /** The response body, produced chunk by chunk as the client reads it. */
  body: AsyncGenerator<string>;
}

export interface PullFileResult {
  delivery: 'file';
  accepted: PullFileAccepted;
}

export interface PullOutput {
  exchangeId: string;
  format: ExchangeFormat;
  bytes: number;
  /** The file, slice by slice, each read in its own short transaction. */
  body: AsyncGenerator<Buffer>;
}

export interface PullDeps {
  clientCache: ClientCache;
  /** Wakes the job runner after a file pull is queued. */
  nudge: () => void;
  /** Bytes per stored slice of a file pull's output (default OUTPUT_SLICE_BYTES). */
  outputSliceBytes?: number;
  /** Read replicas for the records of a streamed pull (absent: the primary). */
  reads?: ReadReplicas;
}

interface Started {
  row: xrepo.ExchangeRow;
  contract: ContractRow;
  eligibility: Eligibility;
  lastId: string | null;
  nextCursor: string | null;
  /** The last id of each full chunk of the page (pagePlan); null when the page is not bounded. */
  bounds: string[] | null;
}

function filtersOf(q: PullQuery): PullFilters {
  const f: PullFilters = {};
  if (q.updated_since) f.updated_since = q.updated_since;
  if (q.geo_id) f.geo_id = q.geo_id;
  if (q.status) f.status = q.status;
  if (q.vertical_id) f.vertical_id = q.vertical_id;
  return f;
}

export function createPullService(db: Database, deps: PullDeps) {
  const sliceBytes = deps.outputSliceBytes ?? OUTPUT_SLICE_BYTES;
  /**
   * One chunk of persons, decided (each on the consent state its row carries, read by the same
   * query: eligibleChunk), masked and projected. `tx` is needed only when the contract names
   * household or link fields, which read more rows (and decide on those persons too).
   */
  async function chunkOf(
    tx: Tx | null,
    actor: Actor,
    tenantId: string,
    rows: EligibleRow[],
    contract: ContractRow,
    decideRow: (state: ConsentState) => PersonDecision,
  ): Promise<{ records: Record<string, unknown>[]; ids: string[] }> {
    const records: Record<string, unknown>[] = [];
    const ids: string[] = [];
    const visible: EligibleRow[] = [];
    const decisions: PersonDecision[] = [];
    for (const r of rows) {
      const d = decideRow(stateOfRank(r.state_rank));
      if (!d.visible) continue;
      visible.push(r);
      decisions.push(d);
    }
    const needsTx = contract.field_list.some((f) => isHouseholdField(f) || isLinkField(f));
    if (needsTx && !tx) throw new Error('chunkOf: household and link fields are read in a transaction');
    const households =
      tx && contract.field_list.some(isHouseholdField)
        ? await householdsOf(tx, actor, tenantId, visible)
        : new Map<string, HouseholdPart>();
    const links =
      tx && contract.field_list.some(isLinkField)
        ? await linksOf(tx, actor, tenantId, visible, contract)
        : new Map<string, Omit<LinksPart, 'hidden'>>();
    for (let i = 0; i < visible.length; i++) {
      const r = visible[i];
      const decision = decisions[i];
      const view = personView(r, decision);
      const household = r.household_id ? (households.get(r.household_id) ?? null) : null;
      const own = links.get(r.id) ?? { memberships: [], relationships: [] };
      const hidden = LINK_FIELDS.filter((f) => !linkShown(f, decision));
      records.push(projectPerson(view, contract.field_list, household, { ...own, hidden }).record);
      ids.push(r.id);
    }
    return { records, ids };
  }

  /**
   * Open household memberships and active family relationships of a chunk's persons. A
   * relationship appears only when the other person would be pulled too: active, an active
   * consent allowing export to the caller, and the contract's consent requirements met —
   * otherwise even the other person's id would leak.
   */
  async function linksOf(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    persons: PersonRow[],
    contract: ContractRow,
  ): Promise<Map<string, Omit<LinksPart, 'hidden'>>> {
    const fieldList = contract.field_list;
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
      const qualified = await activeMeetingRequirements(
        tx,
        tenantId,
        others,
        contract.consent_requirements?.vertical_ids ?? [],
      );
      const shown = (id: string) => {
        const d = seen.get(id);
        return d?.visible === true && d.basis !== 'own-create' && d.basis !== 'lapsed' && qualified.has(id);
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
    const members = await openMembersOfHouseholds(tx, tenantId, ids);
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

  /** Who a pull may return, from its contract, filters and caller (exchange-pull-repo.ts). */
  function eligibilityOf(actor: Actor, tenantId: string, contract: ContractRow, filters: PullFilters) {
    const callerVerticals = actor.principal.verticalIds.length > 0 ? actor.principal.verticalIds : null;
    return {
      tenantId,
      requiredVerticalIds: contract.consent_requirements?.vertical_ids ?? [],
      anyVerticalIds: filters.vertical_id ? [filters.vertical_id] : callerVerticals,
      updatedSince: filters.updated_since ?? null,
      verificationStatus: filters.status ?? null,
      geoId: filters.geo_id ?? null,
    } satisfies Eligibility;
  }

  const consentChecksOf = (e: Eligibility) => ({
    purpose: 'export',
    grace_period_allowed: false,
    required_vertical_ids: e.requiredVerticalIds,
    any_of_vertical_ids: e.anyVerticalIds,
  });

  /** The contract rules, then the filters: a vertical of the integration, an existing geo area. */
  async function admitPull(tx: Tx, actor: Actor, tenantId: string, integrationId: string, q: PullQuery) {
    const filters = filtersOf(q);
    const { integration, contract } = await admit(tx, actor, tenantId, integrationId, 'pull', q.contract_id);
    if (filters.vertical_id && !integration.vertical_ids.includes(filters.vertical_id)) {
      throw new AppError('ERR_VAL_RULE_VIOLATION', 'vertical_id: not one of the integration’s verticals', {
        status: 400,
        errors: [{ field: 'vertical_id', message: 'not one of the integration’s verticals' }],
      });
    }
    if (filters.geo_id) await assertGeoArea(tx, tenantId, filters.geo_id);
    return { contract, filters, eligibility: eligibilityOf(actor, tenantId, contract, filters) };
  }

  /**
   * Where a page ends and where its chunks end (read first: its cursor is known before the page
   * is produced, and its chunks can be read side by side).
   */
  async function endOf(tx: Tx, e: Eligibility, afterId: string | null, limit: number) {
    if (!Number.isFinite(limit)) return { lastId: null, nextCursor: null, bounds: null };
    const plan = await pagePlan(tx, e, afterId, limit, CHUNK);
    return {
      lastId: plan.lastId,
      nextCursor: plan.more && plan.lastId ? encodeCursor([plan.lastId]) : null,
      bounds: plan.bounds,
    };
  }

  async function start(
    actor: Actor,
    tenantId: string,
    integrationId: string,
    q: PullQuery,
  ): Promise<Started> {
    const limit = q.limit ?? PULL_DEFAULT_LIMIT;
    const afterId = decodeIdCursor(q.cursor);
    return tenantTx(db, actor, async (tx) => {
      const { contract, filters, eligibility } = await admitPull(tx, actor, tenantId, integrationId, q);
      const end = await endOf(tx, eligibility, afterId, limit);
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
        consentChecks: consentChecksOf(eligibility),
        started: true,
      });
      return { row, contract, eligibility, ...end };
    });
  }

  /** The opening of a page's body: the JSON envelope, the CSV header row or the XML root. */
  function opening(s: Started): string {
    const format = s.row.format ?? 'json';
    if (format === 'json')
      return `{"exchange_id":${JSON.stringify(s.row.id)},"status":"completed","payload":[`;
    if (format === 'csv') return csvLines([csvColumns(s.contract.field_list)]);
    return xmlOpen(s.row.id);
  }

  function closing(s: Started): string {
    const format = s.row.format ?? 'json';
    if (format === 'json') return `],"next_cursor":${JSON.stringify(s.nextCursor)}}`;
    return format === 'xml' ? XML_CLOSE : '';
  }

  /** The records of one chunk in the exchange's format (JSON without the separator before it). */
  function render(
    format: ExchangeFormat,
    out: Record<string, unknown>[],
    columns: readonly string[],
  ): string {
    if (format === 'json') return out.map((r) => JSON.stringify(r)).join(',');
    if (format === 'csv') return csvLines(out.map((r) => csvRow(r, columns)));
    return out.map(xmlRecord).join('');
  }

  /**
   * The records of a page after `afterId` (at most `limit`, up to the page's last id), rendered
   * in the exchange's format, one database chunk at a time; `count.returned` says how many.
   *
   * A streamed pull whose contract names no household or link field reads its chunks (the id
   * ranges pagePlan found) in short read transactions of their own, READ_AHEAD of them at once,
   * and decides, masks and renders each outside: while one chunk is rendered and sent the next
   * ones are being read, on as many connections. Otherwise (a file pull records what it output
   * with the read; household and link fields read more rows and decide on those persons) each
   * chunk is read, decided and projected in one transaction, one after the other.
   */
  async function* records(
    actor: Actor,
    tenantId: string,
    s: Started,
    afterId: string | null,
    limit: number,
    count: { returned: number },
    /** Called in each chunk's transaction with the ids of the persons it output. */
    track?: (tx: Tx, ids: string[]) => Promise<void>,
  ): AsyncGenerator<string> {
    const format = s.row.format ?? 'json';
    const columns = csvColumns(s.contract.field_list);
    const needsTx = s.contract.field_list.some((f) => isHouseholdField(f) || isLinkField(f));
    let decideRow: ((state: ConsentState) => PersonDecision) | null = null;
    const emit = (out: Record<string, unknown>[]): string | null => {
      if (out.length === 0) return null;
      const body = render(format, out, columns);
      const first = count.returned === 0;
      count.returned += out.length;
      return format === 'json' && !first ? `,${body}` : body;
    };

    if (!track && !needsTx && s.bounds) {
      // Chunk i holds the persons in (from[i], until[i]]; the last one ends at the page's end.
      const from = [afterId, ...s.bounds];
      const until: (string | null)[] = [...s.bounds, s.lastId];
      if (s.lastId !== null && s.bounds[s.bounds.length - 1] === s.lastId) {
        from.pop();
        until.pop();
      }
      // The read-ahead runs under a scratch audit record: readTx resets the record it is given
      // when it retries on the primary, and the masking facts of the chunk being rendered
      // meanwhile go to the operation's own.
      const scratch = { ...actor, audit: { recorded: false } };
      const read = (i: number) =>
        readTx(db, deps.reads, scratch, async (tx) => {
          const reader = await readerOf(tx, actor, tenantId);
          decideRow ??= decider(reader, 'export', actor.audit);
          return eligibleChunk(tx, s.eligibility, from[i], until[i], limit, reader.verticals);
        });
      const pending: Promise<EligibleRow[]>[] = [];
      let issued = 0;
      try {
        for (let i = 0; i < from.length && count.returned < limit; i++) {
          while (issued < from.length && issued < i + READ_AHEAD) pending.push(read(issued++));
          let rows = await pending.shift()!;
          // Persons that became eligible after the plan was read do not make the page longer.
          if (count.returned + rows.length > limit) rows = rows.slice(0, limit - count.returned);
          const body = emit((await chunkOf(null, actor, tenantId, rows, s.contract, decideRow!)).records);
          if (body !== null) yield body;
        }
      } finally {
        // The consumer stopped early (or a read failed): outstanding reads settle quietly.
        for (const p of pending) p.catch(() => undefined);
      }
      return;
    }

    let after = afterId;
    let done = 0;
    while (done < limit) {
      const size = Math.min(CHUNK, limit - done);
      // A streamed pull only reads here and may use a replica; a file pull records what it output
      // (track) in the same transaction, so it stays on the primary.
      const chunk = await readTx(db, track ? undefined : deps.reads, actor, async (tx) => {
        const reader = await readerOf(tx, actor, tenantId);
        decideRow ??= decider(reader, 'export', actor.audit);
        const rows = await eligibleChunk(tx, s.eligibility, after, s.lastId, size, reader.verticals);
        if (rows.length === 0) return { n: 0, last: after, out: [] };
        const { records: out, ids } = await chunkOf(tx, actor, tenantId, rows, s.contract, decideRow);
        if (track) await track(tx, ids);
        return { n: rows.length, last: rows[rows.length - 1].id, out };
      });
      done += chunk.n;
      after = chunk.last;
      const body = emit(chunk.out);
      if (body !== null) yield body;
      if (chunk.n < size || (s.lastId !== null && chunk.last === s.lastId)) break;
    }
  }

  async function finishCompleted(
    actor: Actor,
    tenantId: string,
    s: Started,
    returned: number,
    file?: { output: xrepo.ExchangeFinish['output']; fence: Date },
  ): Promise<void> {
    await tenantTx(db, actor, async (tx) => {
      if (file && !(await xrepo.holdsFileRun(tx, tenantId, s.row.id, file.fence))) throw new Superseded();
      const row = await xrepo.finishExchange(tx, tenantId, s.row.id, {
        status: 'completed',
        recordsReturned: returned,
        nextCursor: s.nextCursor,
        output: file?.output,
      });
      await completed(tx, actor, tenantId, row);
    });
  }

  async function finishInterrupted(
    actor: Actor,
    tenantId: string,
    exchangeId: string,
    returned: number,
    fence?: Date,
  ) {
    await tenantTx(db, actor, async (tx) => {
      if (fence && !(await xrepo.holdsFileRun(tx, tenantId, exchangeId, fence))) return;
      await xrepo.deleteOutput(tx, tenantId, exchangeId);
      await xrepo.finishExchange(tx, tenantId, exchangeId, {
        status: 'failed',
        recordsReturned: returned,
        errorCode: 'ERR_EXCHANGE_INTERRUPTED',
        errorDetail: 'the pull stopped before the page was complete',
      });
    }).catch(() => undefined);
  }

  async function* stream(
    actor: Actor,
    tenantId: string,
    s: Started,
    afterId: string | null,
    limit: number,
  ): AsyncGenerator<string> {
    const count = { returned: 0 };
    let done = false;
    try {
      yield opening(s);
      yield* records(actor, tenantId, s, afterId, limit, count);
      await finishCompleted(actor, tenantId, s, count.returned);
      done = true;
      const end = closing(s);
      if (end) yield end;
    } finally {
      // The client went away or a read failed: the page was not delivered whole.
      if (!done) await finishInterrupted(actor, tenantId, s.row.id, count.returned);
    }
  }

  /**
   * One file pull in progress per integration: each holds a job runner and stores its whole
   * output, so a partner asks for the next once the last is written (a unique index settles races).
   */
  async function assertNoFilePullInProgress(tx: Tx, tenantId: string, integrationId: string) {
    const open = await xrepo.fileDeliveryInProgress(tx, tenantId, integrationId);
    if (!open) return;
    if (open.jobLive) throw filePullBusy(open.id);
    // Its job ended without closing it (the close itself failed): close it now, as interrupted.
    await xrepo.deleteOutput(tx, tenantId, open.id);
    await xrepo.finishExchange(tx, tenantId, open.id, {
      status: 'failed',
      errorCode: 'ERR_EXCHANGE_INTERRUPTED',
      errorDetail: 'the file pull stopped without finishing',
    });
  }

  /** Accepts a file pull: the contract rules and filters now, the records in a job. */
  async function acceptFile(
    actor: Actor,
    tenantId: string,
    integrationId: string,
    q: PullQuery,
  ): Promise<PullFileResult> {
    decodeIdCursor(q.cursor);
    const row = await tenantTx(db, actor, async (tx) => {
      const { contract, filters, eligibility } = await admitPull(tx, actor, tenantId, integrationId, q);
      await assertNoFilePullInProgress(tx, tenantId, integrationId);
      const row = await xrepo
        .insertExchange(tx, {
          tenantId,
          id: uuidv7(),
          integrationId,
          contractId: contract.id,
          requestedContractId: contract.id,
          direction: 'pull',
          status: 'accepted',
          format: q.format ?? 'json',
          clientId: actor.principal.clientId,
          correlationId: actor.correlationId,
          dataCategories: contract.data_categories,
          filters: {
            ...filters,
            ...(q.limit !== undefined ? { limit: q.limit } : {}),
            ...(q.cursor ? { cursor: q.cursor } : {}),
          },
          consentChecks: consentChecksOf(eligibility),
          delivery: 'file',
        })
        .catch(oneFilePullAtATime);
      await enqueueJob(tx, {
        kind: PULL_FILE_JOB,
        tenantId,
        payload: { exchange_id: row.id, integration_id: integrationId },
      });
      await recordAudit(
        tx,
        actor,
        exchangeAudit(actor, 'exchange.pull.accepted', row.id, {
          integration_id: integrationId,
          contract_id: contract.id,
          format: row.format,
          delivery: 'file',
        }),
      );
      return row;
    });
    deps.nudge();
    return {
      delivery: 'file',
      accepted: {
        exchange_id: row.id,
        status: row.status,
        output_file_ref: xrepo.outputFileRef(integrationId, row.id),
      },
    };
  }

  interface FileRun {
    exchange: xrepo.ExchangeRow;
    integration: repo.IntegrationRow;
    contract: ContractRow;
    /** This attempt's start time: it writes only while the exchange still carries it. */
    fence: Date;
  }

  /**
   * Claims a file pull for writing: the rules are checked again (the integration or contract may
   * have changed since it was accepted; a refusal fails the exchange), and whatever an earlier,
   * crashed attempt wrote is dropped. An earlier attempt that is in fact still running (its lock
   * expired) finds itself superseded at its next write and stops without touching anything.
   */
  async function beginFile(
    tenantId: string,
    integrationId: string,
    exchangeId: string,
  ): Promise<FileRun | null> {
    return db.transaction(
      async (tx) => {
        const found = await reloadExchange(tx, tenantId, integrationId, exchangeId, 'pull');
        if (found?.exchange.delivery !== 'file') return null;
        await xrepo.deleteOutput(tx, tenantId, exchangeId);
        if (!found.admitted) {
          await xrepo.finishExchange(tx, tenantId, exchangeId, {
            status: 'failed',
            errorCode: found.refusal!.code,
            errorDetail: `the pull was refused when processed: ${found.refusal!.message}`,
          });
          return null;
        }
        const fence = await xrepo.startFileRun(tx, tenantId, exchangeId);
        return { exchange: found.exchange, ...found.admitted, fence };
      },
      { tenantId },
    );
  }

  /** Writes a file pull's output: the same bytes an inline pull would stream, in slices. */
  async function runFile(job: Job): Promise<void> {
    const tenantId = job.tenant_id;
    const exchangeId = String(job.payload.exchange_id ?? '');
    const integrationId = String(job.payload.integration_id ?? '');
    if (!tenantId) throw new PermanentJobError('an exchange job needs a tenant');
    const run = await beginFile(tenantId, integrationId, exchangeId);
    if (!run) return;
    let actor: Actor;
    try {
      actor = await integrationActor(deps.clientCache, run.integration, run.exchange);
    } catch (err) {
      await db.transaction(
        (tx) =>
          xrepo.finishExchange(tx, tenantId, exchangeId, {
            status: 'failed',
            errorCode: 'ERR_AUTH_INVALID',
            errorDetail: err instanceof Error ? err.message : String(err),
          }),
        { tenantId },
      );
      return;
    }
    const f = run.exchange.filters as PullFilters & { limit?: number; cursor?: string };
    const limit = typeof f.limit === 'number' ? f.limit : Number.POSITIVE_INFINITY;
    const afterId = decodeIdCursor(f.cursor);
    const eligibility = eligibilityOf(actor, tenantId, run.contract, f);
    const end = await tenantTx(db, actor, (tx) => endOf(tx, eligibility, afterId, limit));
    const s: Started = { row: run.exchange, contract: run.contract, eligibility, ...end };
    const count = { returned: 0 };
    let pending = Buffer.alloc(0);
    let chunks = 0;
    let bytes = 0;
    const store = async (data: Buffer) => {
      chunks += 1;
      bytes += data.length;
      const no = chunks;
      await tenantTx(db, actor, async (tx) => {
        if (!(await xrepo.holdsFileRun(tx, tenantId, exchangeId, run.fence))) throw new Superseded();
        await xrepo.insertOutputChunk(tx, tenantId, exchangeId, no, data);
      });
      // Still at work: a large file may take longer than one claim.
      await renewJobLock(db, job.id, FILE_PULL_LOCK_SECONDS);
    };
    // Every stored slice holds exactly sliceBytes (the last one what is left), whatever the size
    // of the rendered parts: a row never grows with the page, and reads are just as bounded.
    const write = async (text: string) => {
      if (text === '') return;
      pending = Buffer.concat([pending, Buffer.from(text, 'utf8')]);
      while (pending.length >= sliceBytes) {
        await store(pending.subarray(0, sliceBytes));
        pending = pending.subarray(sliceBytes);
      }
    };
    const flush = async () => {
      if (pending.length > 0) await store(pending);
      pending = Buffer.alloc(0);
    };
    try {
      await write(opening(s));
      const track = (tx: Tx, ids: string[]) => xrepo.insertOutputPersons(tx, tenantId, exchangeId, ids);
      for await (const part of records(actor, tenantId, s, afterId, limit, count, track)) await write(part);
      await write(closing(s));
      await flush();
      await finishCompleted(actor, tenantId, s, count.returned, {
        output: { chunks, bytes, keepSeconds: OUTPUT_KEEP_SECONDS },
        fence: run.fence,
      });
    } catch (err) {
      // A later attempt owns the exchange now: leave it to that one.
      if (err instanceof Superseded) return;
      // No retry: a half-written file is dropped and the partner asks again.
      await finishInterrupted(actor, tenantId, exchangeId, count.returned, run.fence);
      throw new PermanentJobError(err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * The output of a file pull, for the integration's own client: 404 unless it is a file pull of
   * this integration, 409 while it is not completed (or failed), 410 once expired. The
   * integration must still be allowed to pull and the contract must still be in force.
   */
  async function output(actor: Actor, integrationId: string, exchangeId: string): Promise<PullOutput> {
    const tenantId = requireTenant(actor);
    const row = await tenantTx(db, actor, async (tx) => {
      const integration = await loadIntegration(tx, tenantId, integrationId);
      assertOwnClient(actor, integrationId);
      const row = await xrepo.findExchange(tx, tenantId, integrationId, exchangeId);
      if (row?.delivery !== 'file') throw new AppError('ERR_NOT_FOUND', 'file pull not found');
      if (row.status !== 'completed') {
        const why =
          row.status === 'failed'
            ? 'the pull failed: it has no output'
            : `the output is not ready yet: the pull is ${row.status}`;
        throw new AppError('ERR_STATE_CONFLICT', why, { extra: { current_status: row.status } });
      }
      if ((row.output_expires_at && row.output_expires_at.getTime() <= Date.now()) || !row.output_chunks) {
        throw new AppError('ERR_NOT_FOUND', 'the output of this pull has expired', { status: 410 });
      }
      assertIntegrationCanExchange(integration, 'pull');
      const contract = row.contract_id
        ? await crepo.findContract(tx, tenantId, integrationId, row.contract_id)
        : null;
      if (!contract) throw new AppError('ERR_NOT_FOUND', 'contract not found');
      assertContractInForce(contract);
      // A withdrawn consent blocks reads at once, stored copies included.
      const since = row.started_at ?? row.received_at;
      if (await xrepo.outputConsentChanged(tx, tenantId, exchangeId, since)) {
        throw new AppError(
          'ERR_NOT_FOUND',
          'a consent of a person in this file has changed since it was written: pull again',
          { status: 410, extra: { reason: 'consent_changed' } },
        );
      }
      return row;
    });
    const chunks = row.output_chunks ?? 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (let no = 1; no <= chunks; no++) {
        const data = await tenantTx(db, actor, (tx) => xrepo.readOutputChunk(tx, tenantId, exchangeId, no));
        // Deleted while being read (expired meanwhile): end the response short rather than lie.
        if (!data) throw new Error(`output chunk ${no} of exchange ${exchangeId} is gone`);
        yield data;
      }
    }
    return { exchangeId, format: row.format ?? 'json', bytes: Number(row.output_bytes ?? 0), body: body() };
  }

  return {
    /**
     * A pull: admitted (contract rules), filtered, then streamed page by page. A refusal leaves
     * a failed exchange row and is rethrown; the page's exchange row is completed when its
     * last record has been produced. With delivery=file the records are written by a job and
     * fetched later from the exchange's output.
     */
    async pull(actor: Actor, integrationId: string, q: PullQuery): Promise<PullResult | PullFileResult> {
      const tenantId = requireTenant(actor);
      if (q.delivery === 'file') {
        try {
          return await acceptFile(actor, tenantId, integrationId, q);
        } catch (err) {
          await logPullRefusal(db, actor, tenantId, integrationId, q, err);
          throw err;
        }
      }
      let started: Started;
      try {
        started = await start(actor, tenantId, integrationId, q);
      } catch (err) {
        await logPullRefusal(db, actor, tenantId, integrationId, q, err);
        throw err;
      }
      const limit = q.limit ?? PULL_DEFAULT_LIMIT;
      return {
        delivery: 'inline',
        exchangeId: started.row.id,
        format: started.row.format ?? 'json',
        nextCursor: started.nextCursor,
        body: stream(actor, tenantId, started, decodeIdCursor(q.cursor), limit),
      };
    },
    runFile,
    output,
    /** Deletes expired outputs (a periodic sweep across tenants). */
    async purgeExpired(batch = 100): Promise<number> {
      let total = 0;
      for (;;) {
        const n = await db.transaction((tx) => xrepo.purgeExpiredOutputs(tx, batch));
        total += n;
        if (n < batch) return total;
      }
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
