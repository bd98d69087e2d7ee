import path from 'node:path';

/** Typed server configuration, read once from the environment and validated at start. */
export interface Config {
  port: number;
  host: string;
  /** Unset: embedded PGlite in dataDir. `memory://`: in-memory PGlite. `postgres://…`: a PostgreSQL server. */
  databaseUrl: string | null;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  publicUrl: string;
  dbPoolSize: number;
  tokenTtlSeconds: number;
  rootClientId: string | null;
  rootClientSecret: string | null;
  rateLimitPerMinute: number;
  tokenRateLimitPerMinute: number;
  redisUrl: string | null;
  idempotencyTtlSeconds: number;
  runWorkers: boolean;
  attachmentMaxBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One row per variable: the README table is checked against this list by a test. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'HEARTH_DATA_DIR',
  'LOG_LEVEL',
  'HEARTH_BODY_LIMIT',
  'HEARTH_PUBLIC_URL',
  'HEARTH_DB_POOL_SIZE',
  'HEARTH_TOKEN_TTL',
  'HEARTH_ROOT_CLIENT_ID',
  'HEARTH_ROOT_CLIENT_SECRET',
  'HEARTH_RATE_LIMIT_PER_MINUTE',
  'HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE',
  'REDIS_URL',
  'HEARTH_IDEMPOTENCY_TTL',
  'HEARTH_WORKERS',
  'HEARTH_ATTACHMENT_MAX_BYTES',
] as const;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v === '' ? fallback : v;
  }

  optional(name: string): string | null {
    const v = this.env[name];
    return v === undefined || v === '' ? null : v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      this.problems.push(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    const n = Number(raw);
    if (n < min || n > max) {
      this.problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }
}

function checkDatabaseUrl(r: Reader, url: string | null): void {
  if (url === null || url === 'memory://') return;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    r.problems.push('DATABASE_URL must be unset, memory://, or a postgres:// URL');
  }
}

function checkUrl(r: Reader, name: string, url: string | null, protocols: string[]): void {
  if (url === null) return;
  try {
    const parsed = new URL(url);
    if (!protocols.includes(parsed.protocol)) r.problems.push(`${name} must use ${protocols.join(' or ')}`);
  } catch {
    r.problems.push(`${name} is not a valid URL`);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const port = r.int('PORT', 8080, 0, 65535);
  const databaseUrl = r.optional('DATABASE_URL');
  checkDatabaseUrl(r, databaseUrl);
  const publicUrl = r.str('HEARTH_PUBLIC_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  checkUrl(r, 'HEARTH_PUBLIC_URL', publicUrl, ['http:', 'https:']);
  const redisUrl = r.optional('REDIS_URL');
  checkUrl(r, 'REDIS_URL', redisUrl, ['redis:', 'rediss:']);
  const rootClientId = r.optional('HEARTH_ROOT_CLIENT_ID');
  const rootClientSecret = r.optional('HEARTH_ROOT_CLIENT_SECRET');
  if ((rootClientId === null) !== (rootClientSecret === null)) {
    r.problems.push('HEARTH_ROOT_CLIENT_ID and HEARTH_ROOT_CLIENT_SECRET must be set together');
  }
  if (rootClientSecret !== null && rootClientSecret.length < 16) {
    r.problems.push('HEARTH_ROOT_CLIENT_SECRET must be at least 16 characters');
  }
  const config: Config = {
    port,
    host: r.str('HOST', '0.0.0.0'),
    databaseUrl,
    dataDir: path.resolve(r.str('HEARTH_DATA_DIR', './data')),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    bodyLimitBytes: r.int('HEARTH_BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    publicUrl,
    dbPoolSize: r.int('HEARTH_DB_POOL_SIZE', 10, 1, 200),
    tokenTtlSeconds: r.int('HEARTH_TOKEN_TTL', 3600, 60, 86400),
    rootClientId,
    rootClientSecret,
    rateLimitPerMinute: r.int('HEARTH_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    tokenRateLimitPerMinute: r.int('HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    redisUrl,
    idempotencyTtlSeconds: r.int('HEARTH_IDEMPOTENCY_TTL', 86400, 60, 30 * 86400),
    runWorkers: r.bool('HEARTH_WORKERS', true),
    attachmentMaxBytes: r.int('HEARTH_ATTACHMENT_MAX_BYTES', 10 * 1024 * 1024, 1024, 512 * 1024 * 1024),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
