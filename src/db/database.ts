import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

export interface Rows<R> {
  rows: R[];
  rowCount: number;
}

/** Anything that runs one parameterised statement: the database itself or an open transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Rows<R>>;
}

export interface TxOptions {
  /**
   * When set, the transaction runs as the unprivileged `hearth_app` role with `app.tenant_id`
   * set, so row-level security limits every statement to that tenant.
   */
  tenantId?: string | null;
}

export interface Tx extends Queryable {
  /** Tenant the transaction is bound to, or null for a system (RLS-exempt) transaction. */
  readonly tenantId: string | null;
  /** Runs a script of several statements in this transaction. No parameters. */
  exec(sql: string): Promise<void>;
  /** The driver's own handle, for engine-specific bulk paths (COPY). */
  readonly raw: { kind: 'postgres'; client: pg.PoolClient } | { kind: 'pglite'; tx: Transaction };
  /**
   * Runs `task` in this transaction after its callback returned, just before COMMIT (in the order
   * registered; a failure rolls everything back). For work that takes a contended lock — the
   * tenant's audit chain head — so the lock is held for the commit only, not the whole transaction.
   */
  beforeCommit(task: () => Promise<void>): void;
}

/** The pending beforeCommit tasks of one transaction, and how they run. */
export class CommitTasks {
  private readonly tasks: (() => Promise<void>)[] = [];
  add(task: () => Promise<void>): void {
    this.tasks.push(task);
  }
  async run(): Promise<void> {
    // A task may register another (it runs too, after the ones already queued).
    for (let i = 0; i < this.tasks.length; i++) await this.tasks[i]();
  }
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  /** Most connections the pool opens. */
  max: number;
  /** Since start: connections handed out, the seconds callers waited for them (queueing and
   * connecting), and waits that ended in DatabaseUnavailableError after HEARTH_DB_POOL_WAIT_MS. */
  acquired: number;
  waitSeconds: number;
  waitTimeouts: number;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** The embedded instance when kind is pglite (bulk paths use its native API). */
  readonly pglite: PGlite | null;
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Runs a script of several statements (migrations). No parameters. */
  exec(sql: string): Promise<void>;
  stats(): PoolStats;
  close(): Promise<void>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertUuid(value: string): string {
  if (!UUID_RE.test(value)) throw new Error('tenant id must be a UUID');
  return value;
}

/**
 * Postgres error codes the domain layers translate into problems. Kept here so no layer above
 * matches driver messages.
 */
export const PgCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  exclusionViolation: '23P01',
  serializationFailure: '40001',
  deadlock: '40P01',
  insufficientPrivilege: '42501',
  rlsViolation: '42501',
  invalidTextRepresentation: '22P02',
  raiseException: 'P0001',
} as const;

export interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
  message: string;
}

export function isPgError(e: unknown): e is PgError {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as PgError).code === 'string';
}

/**
 * The database could not be reached or dropped the connection (server stopped or restarting,
 * network gone, no free pool connection within the wait). Retrying later may work: the HTTP
 * layer answers 503 with Retry-After, workers back off.
 */
export class DatabaseUnavailableError extends Error {
  constructor(readonly reason: unknown) {
    super('the database is unavailable');
    this.name = 'DatabaseUnavailableError';
  }
}

/** Connection-level failures: SQLSTATE class 08, admin/crash shutdown, too many connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// The pg driver reports a lost or refused connection with plain Errors; these are its messages.
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Connection closed)/;

/** Whether `err` means the database is out of reach (as opposed to a refused statement). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (e.code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code))
      return true;
  }
  // Node's AggregateError of a connect that tried several addresses (IPv4 and IPv6 localhost).
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isDatabaseUnavailable)) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}
