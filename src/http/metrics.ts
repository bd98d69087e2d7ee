import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database.js';

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
    },
  });
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
