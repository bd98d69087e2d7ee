import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database, PoolStats } from '../db/database.js';
import type { ReadReplicas } from '../db/read-replicas.js';

/** One registry per app instance (tests build several apps in one process). */
export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status_code'>;
  duration: Histogram<'method' | 'route' | 'status_code'>;
  authFailures: Counter<'route'>;
}

/** A gauge read from the database at scrape time; a failing query leaves the last values. */
function dbGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Promise<{ labels: Record<string, string>; value: number }[]>,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      try {
        const values = await read();
        this.reset();
        for (const v of values) this.set(v.labels, v.value);
      } catch {
        // The database is unreachable: /readyz says so; metrics keep their last values.
      }
    },
  });
}

export function createMetrics(db: Database, withDefaults: boolean): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'hearth_' });
  const requests = new Counter({
    name: 'hearth_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hearth_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'hearth_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = db.stats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
      this.set({ state: 'max' }, s.max);
    },
  });
  poolWaitCounters(registry, 'hearth_db_pool', () => [{ labels: {}, stats: db.stats() }], []);
  const authFailures = new Counter({
    name: 'hearth_auth_failures_total',
    help: 'Requests refused as unauthenticated (401), by route',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  dbGauge(
    registry,
    'hearth_outbox_lag_seconds',
    'Age of the oldest event not yet dispatched (0: none)',
    [],
    async () => {
      const { rows } = await db.query<{ lag: number | null }>(
        'SELECT extract(epoch FROM now() - min(occurred_at))::float8 AS lag FROM outbox_events WHERE dispatched_at IS NULL',
      );
      return [{ labels: {}, value: rows[0]?.lag ?? 0 }];
    },
  );
  dbGauge(registry, 'hearth_jobs', 'Background jobs by status', ['status'], async () => {
    const { rows } = await db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM jobs GROUP BY status',
    );
    return rows.map((r) => ({ labels: { status: r.status }, value: r.n }));
  });
  dbGauge(
    registry,
    'hearth_webhook_deliveries_open',
    'Webhook deliveries waiting (pending) or held, across tenants',
    ['status'],
    async () => {
      const { rows } = await db.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE status IN ('pending', 'held') GROUP BY status`,
      );
      return rows.map((r) => ({ labels: { status: r.status }, value: r.n }));
    },
  );
  return { registry, requests, duration, authFailures };
}

/** Cumulative pool waits, read from the pool's own counters at scrape time. */
function poolWaitCounters(
  registry: Registry,
  prefix: string,
  read: () => { labels: Record<string, string>; stats: PoolStats }[],
  labelNames: string[],
): void {
  const counter = (name: string, help: string, value: (s: PoolStats) => number) =>
    new Counter({
      name: `${prefix}_${name}`,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of read()) this.inc(r.labels, value(r.stats));
      },
    });
  counter('acquired_total', 'Connections handed out by the pool', (s) => s.acquired);
  counter(
    'wait_seconds_total',
    'Seconds spent waiting for a pool connection (queueing and connecting); divide by acquired_total for the mean',
    (s) => s.waitSeconds,
  );
  counter(
    'wait_timeouts_total',
    'Waits for a pool connection that ran out (HEARTH_DB_POOL_WAIT_MS): answered 503',
    (s) => s.waitTimeouts,
  );
}

/** Read replicas (decision 0093): health, lag, pools, and where reads went. */
export function registerReplicaMetrics(metrics: Metrics, reads: ReadReplicas): void {
  if (!reads.configured) return;
  const registry = metrics.registry;
  new Gauge({
    name: 'hearth_read_replica_up',
    help: 'Whether a read replica is in use (answers and lags within HEARTH_READ_MAX_LAG_MS)',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of reads.states()) this.set({ replica: s.url }, s.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hearth_read_replica_lag_seconds',
    help: 'Replay lag of a read replica at its last check (absent while unreachable)',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of reads.states()) if (s.lagSeconds !== null) this.set({ replica: s.url }, s.lagSeconds);
    },
  });
  new Counter({
    name: 'hearth_reads_total',
    help: 'Reads that could use a replica, by where they ran (fallback: failed on a replica, run on the primary)',
    labelNames: ['target'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ target: 'replica' }, reads.served.replica);
      this.inc({ target: 'primary' }, reads.served.primary);
      this.inc({ target: 'fallback' }, reads.served.fallback);
    },
  });
  new Gauge({
    name: 'hearth_read_replica_pool_connections',
    help: 'Read replica pool connections by state',
    labelNames: ['replica', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { url, stats } of reads.poolStats()) {
        this.set({ replica: url, state: 'total' }, stats.total);
        this.set({ replica: url, state: 'idle' }, stats.idle);
        this.set({ replica: url, state: 'waiting' }, stats.waiting);
        this.set({ replica: url, state: 'max' }, stats.max);
      }
    },
  });
  poolWaitCounters(
    registry,
    'hearth_read_replica_pool',
    () => reads.poolStats().map(({ url, stats }) => ({ labels: { replica: url }, stats })),
    ['replica'],
  );
}

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids and search terms must not become label values.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    metrics.requests.inc(labels);
    if (reply.statusCode === 401) metrics.authFailures.inc({ route });
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });
}
