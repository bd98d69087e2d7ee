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
  /** HEARTH_PUBLIC_URL as set (null when defaulted): the first process on a database fixes the token issuer with it. */
  publicUrlConfigured: string | null;
  /** A direct (not transaction-pooled) connection for LISTEN; defaults to DATABASE_URL. */
  listenDatabaseUrl: string | null;
  /** Streaming replicas for searches and pulls (HEARTH_READ_DATABASE_URL, comma separated); empty: none. */
  readDatabaseUrls: string[];
  /** A replica further behind the primary than this is not used until it catches up. */
  readMaxLagMs: number;
  dbPoolSize: number;
  /** Longest wait for a free pool connection before a request is answered 503. */
  dbPoolWaitMs: number;
  tokenTtlSeconds: number;
  rootClientId: string | null;
  rootClientSecret: string | null;
  /** Command line only: a ROOT token for a running server's API (else the ROOT id and secret). */
  cliToken: string | null;
  rateLimitPerMinute: number;
  tokenRateLimitPerMinute: number;
  redisUrl: string | null;
  idempotencyTtlSeconds: number;
  runWorkers: boolean;
  /** SIGTERM: how long /readyz answers 503 while requests are still served, before the server closes. */
  shutdownDrainMs: number;
  attachmentMaxBytes: number;
  /** Largest person import file (POST /api/v1/person-imports has its own limit). */
  importMaxBytes: number;
  /** Largest data-exchange push request, in bytes (its own body limit). */
  exchangeMaxBytes: number;
  /** Most records one push may carry. */
  exchangeMaxRecords: number;
  webhooks: WebhookConfig;
  dci: DciConfig;
  users: UsersConfig;
  sessions: SessionConfig;
  /** Sign-in through an OpenID Connect provider; null when HEARTH_OIDC_ISSUER is unset. */
  oidc: OidcConfig | null;
}

/** Local accounts (src/users). */
export interface UsersConfig {
  /** First administrator: a ROOT user with these credentials exists after start. */
  rootUsername: string | null;
  rootPassword: string | null;
  passwordMinLength: number;
  /** Failed sign-ins in a row before the account is locked for a while. */
  maxFailedLogins: number;
  /** First lockout; each further failure while over the limit doubles it, up to an hour. */
  lockoutSeconds: number;
}

/** Browser sessions (src/sessions). */
export interface SessionConfig {
  /** A session unused this long ends. */
  idleSeconds: number;
  /** A session ends this long after sign-in, however busy. */
  absoluteSeconds: number;
  /** Secure cookie attribute: off only for http://localhost and NODE_ENV development/test. */
  cookieSecure: boolean;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  /** Shown on the sign-in page ("Sign in with …"). */
  name: string;
  scopes: string;
  /** Claim (dot path) holding the user's roles, e.g. realm_access.roles for Keycloak. */
  rolesClaim: string;
  /** Claim holding the tenant code. */
  tenantClaim: string;
  usernameClaim: string;
  /** Provider role → Hearth role; a provider role not listed maps to the Hearth role of the same name. */
  roleMap: Record<string, string>;
  /** Allows an http:// issuer (development and tests only). */
  allowInsecure: boolean;
}

/** The DCI Social Registry face (src/faces/dci); callbacks use the webhook delivery settings. */
export interface DciConfig {
  /** Our DCI participant id: sender_id of what we send, the receiver_id callers must use. */
  participantId: string;
  /** DCI identifier type code → Hearth id-type code (UIN → national_id…). */
  idTypes: Record<string, string>;
  /** Largest page_size, and the most records an unpaginated search may return. */
  maxRecords: number;
  /** Most items (search_request, subscribe_request) in one message. */
  maxBatch: number;
  /** Seconds a message_id is remembered per sender (duplicates are refused). */
  replayWindowSeconds: number;
  /** `extension.field` holding the poverty score of households (and persons). */
  povertyScoreField: string;
}

/** Outbound webhook deliveries (src/webhooks). */
export interface WebhookConfig {
  /** Allows http:// and loopback, link-local and private targets (development and tests only). */
  allowInsecureTargets: boolean;
  /** First retry delay; later ones double, with jitter. */
  retryBaseMs: number;
  /** Attempts before a delivery is dead-lettered (failed). */
  maxAttempts: number;
  /** Delivery attempts in flight at once per process. */
  concurrency: number;
  /** Timeout of one attempt, connection to last byte. */
  timeoutMs: number;
  /** Bytes of a receiver's answer read at most (the rest is dropped). */
  responseMaxBytes: number;
  /** How long a replaced signing key stays published and co-signs. */
  keyOverlapHours: number;
  /** Keys older than this are rotated automatically (0: never). */
  keyRotationDays: number;
  /** 32-byte key (base64 or hex) that encrypts private signing keys at rest; null: stored unencrypted. */
  keySecret: Buffer | null;
  /** Days a dispatched outbox event is kept, then deleted once nothing still needs it (0: forever). */
  outboxRetentionDays: number;
  /** Days a finished delivery (succeeded, failed, held) and its attempts are kept (0: forever). */
  deliveryRetentionDays: number;
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
  'HEARTH_LISTEN_DATABASE_URL',
  'HEARTH_READ_DATABASE_URL',
  'HEARTH_READ_MAX_LAG_MS',
  'HEARTH_DB_POOL_SIZE',
  'HEARTH_DB_POOL_WAIT_MS',
  'HEARTH_TOKEN_TTL',
  'HEARTH_ROOT_CLIENT_ID',
  'HEARTH_ROOT_CLIENT_SECRET',
  'HEARTH_TOKEN',
  'HEARTH_RATE_LIMIT_PER_MINUTE',
  'HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE',
  'REDIS_URL',
  'HEARTH_IDEMPOTENCY_TTL',
  'HEARTH_WORKERS',
  'HEARTH_SHUTDOWN_DRAIN_MS',
  'HEARTH_ATTACHMENT_MAX_BYTES',
  'HEARTH_IMPORT_MAX_BYTES',
  'HEARTH_EXCHANGE_MAX_BYTES',
  'HEARTH_EXCHANGE_MAX_RECORDS',
  'HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS',
  'HEARTH_WEBHOOK_RETRY_BASE_MS',
  'HEARTH_WEBHOOK_MAX_ATTEMPTS',
  'HEARTH_WEBHOOK_CONCURRENCY',
  'HEARTH_WEBHOOK_TIMEOUT_MS',
  'HEARTH_WEBHOOK_RESPONSE_MAX_BYTES',
  'HEARTH_WEBHOOK_KEY_OVERLAP_HOURS',
  'HEARTH_WEBHOOK_KEY_ROTATION_DAYS',
  'HEARTH_WEBHOOK_KEY_SECRET',
  'HEARTH_OUTBOX_RETENTION_DAYS',
  'HEARTH_WEBHOOK_LOG_RETENTION_DAYS',
  'HEARTH_DCI_PARTICIPANT_ID',
  'HEARTH_DCI_ID_TYPES',
  'HEARTH_DCI_MAX_RECORDS',
  'HEARTH_DCI_MAX_BATCH',
  'HEARTH_DCI_REPLAY_WINDOW',
  'HEARTH_DCI_POVERTY_SCORE_FIELD',
  'HEARTH_ROOT_USERNAME',
  'HEARTH_ROOT_PASSWORD',
  'HEARTH_PASSWORD_MIN_LENGTH',
  'HEARTH_LOGIN_MAX_FAILURES',
  'HEARTH_LOGIN_LOCKOUT_SECONDS',
  'HEARTH_SESSION_IDLE_MINUTES',
  'HEARTH_SESSION_MAX_HOURS',
  'HEARTH_OIDC_ISSUER',
  'HEARTH_OIDC_CLIENT_ID',
  'HEARTH_OIDC_CLIENT_SECRET',
  'HEARTH_OIDC_NAME',
  'HEARTH_OIDC_SCOPES',
  'HEARTH_OIDC_ROLES_CLAIM',
  'HEARTH_OIDC_TENANT_CLAIM',
  'HEARTH_OIDC_USERNAME_CLAIM',
  'HEARTH_OIDC_ROLE_MAP',
  'HEARTH_OIDC_ALLOW_INSECURE',
  'NODE_ENV',
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

/** A 32-byte key given as base64 (44 characters) or hex (64 characters). */
function readKey(r: Reader, name: string): Buffer | null {
  const raw = r.optional(name);
  if (raw === null) return null;
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    r.problems.push(`${name} must be 32 bytes, as 64 hex characters or base64`);
    return null;
  }
  return key;
}

const DCI_ID_TYPES_DEFAULT = 'UIN=national_id,BRN=birth_certificate,PASSPORT=passport,TIN=tax_id';

function loadDciConfig(r: Reader, publicUrl: string): DciConfig {
  let host = 'hearth';
  try {
    host = new URL(publicUrl).host || host;
  } catch {
    // HEARTH_PUBLIC_URL is reported on its own.
  }
  const idTypes: Record<string, string> = {};
  for (const pair of r.str('HEARTH_DCI_ID_TYPES', DCI_ID_TYPES_DEFAULT).split(',')) {
    const m = /^\s*([A-Za-z0-9_.:-]{1,64})\s*=\s*([A-Za-z0-9][A-Za-z0-9_.:-]{0,63})\s*$/.exec(pair);
    if (!m) {
      r.problems.push(`HEARTH_DCI_ID_TYPES must be DCI=hearth pairs separated by commas, got "${pair}"`);
      continue;
    }
    idTypes[m[1].toUpperCase()] = m[2];
  }
  const povertyScoreField = r.str('HEARTH_DCI_POVERTY_SCORE_FIELD', 'pmt.poverty_score');
  if (!/^[a-z][a-z0-9_]{1,40}\.[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(povertyScoreField)) {
    r.problems.push('HEARTH_DCI_POVERTY_SCORE_FIELD must be extension.field (e.g. pmt.poverty_score)');
  }
  return {
    participantId: r.str('HEARTH_DCI_PARTICIPANT_ID', host),
    idTypes,
    maxRecords: r.int('HEARTH_DCI_MAX_RECORDS', 100, 1, 10_000),
    maxBatch: r.int('HEARTH_DCI_MAX_BATCH', 50, 1, 1_000),
    replayWindowSeconds: r.int('HEARTH_DCI_REPLAY_WINDOW', 86_400, 60, 30 * 86_400),
    povertyScoreField,
  };
}

function loadWebhookConfig(r: Reader): WebhookConfig {
  return {
    allowInsecureTargets: r.bool('HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS', false),
    retryBaseMs: r.int('HEARTH_WEBHOOK_RETRY_BASE_MS', 10_000, 1, 3_600_000),
    maxAttempts: r.int('HEARTH_WEBHOOK_MAX_ATTEMPTS', 15, 1, 100),
    concurrency: r.int('HEARTH_WEBHOOK_CONCURRENCY', 16, 1, 256),
    timeoutMs: r.int('HEARTH_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    responseMaxBytes: r.int('HEARTH_WEBHOOK_RESPONSE_MAX_BYTES', 65_536, 0, 10 * 1024 * 1024),
    keyOverlapHours: r.int('HEARTH_WEBHOOK_KEY_OVERLAP_HOURS', 168, 0, 24 * 365),
    keyRotationDays: r.int('HEARTH_WEBHOOK_KEY_ROTATION_DAYS', 90, 0, 3650),
    keySecret: readKey(r, 'HEARTH_WEBHOOK_KEY_SECRET'),
    outboxRetentionDays: r.int('HEARTH_OUTBOX_RETENTION_DAYS', 30, 0, 36_500),
    deliveryRetentionDays: r.int('HEARTH_WEBHOOK_LOG_RETENTION_DAYS', 30, 0, 36_500),
  };
}

function loadUsersConfig(r: Reader): UsersConfig {
  const rootUsername = r.optional('HEARTH_ROOT_USERNAME');
  const rootPassword = r.optional('HEARTH_ROOT_PASSWORD');
  const passwordMinLength = r.int('HEARTH_PASSWORD_MIN_LENGTH', 12, 8, 128);
  if ((rootUsername === null) !== (rootPassword === null)) {
    r.problems.push('HEARTH_ROOT_USERNAME and HEARTH_ROOT_PASSWORD must be set together');
  }
  if (rootUsername !== null && !/^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$/.test(rootUsername)) {
    r.problems.push('HEARTH_ROOT_USERNAME must be 2 to 100 letters, digits, dots, dashes, underscores or @');
  }
  if (rootPassword !== null && rootPassword.length < passwordMinLength) {
    r.problems.push(`HEARTH_ROOT_PASSWORD must be at least ${passwordMinLength} characters`);
  }
  return {
    rootUsername,
    rootPassword,
    passwordMinLength,
    maxFailedLogins: r.int('HEARTH_LOGIN_MAX_FAILURES', 5, 1, 100),
    lockoutSeconds: r.int('HEARTH_LOGIN_LOCKOUT_SECONDS', 60, 1, 3600),
  };
}

function isLocalUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}

function loadSessionConfig(r: Reader, publicUrl: string): SessionConfig {
  const nodeEnv = r.str('NODE_ENV', 'production');
  return {
    idleSeconds: r.int('HEARTH_SESSION_IDLE_MINUTES', 30, 1, 24 * 60) * 60,
    absoluteSeconds: r.int('HEARTH_SESSION_MAX_HOURS', 12, 1, 24 * 30) * 3600,
    cookieSecure: !(isLocalUrl(publicUrl) || nodeEnv === 'development' || nodeEnv === 'test'),
  };
}

function loadOidcConfig(r: Reader): OidcConfig | null {
  const issuer = r.optional('HEARTH_OIDC_ISSUER');
  if (issuer === null) return null;
  const allowInsecure = r.bool('HEARTH_OIDC_ALLOW_INSECURE', false);
  checkUrl(r, 'HEARTH_OIDC_ISSUER', issuer, allowInsecure ? ['https:', 'http:'] : ['https:']);
  const clientId = r.optional('HEARTH_OIDC_CLIENT_ID');
  if (clientId === null) r.problems.push('HEARTH_OIDC_CLIENT_ID is required with HEARTH_OIDC_ISSUER');
  const roleMap: Record<string, string> = {};
  for (const pair of (r.optional('HEARTH_OIDC_ROLE_MAP') ?? '').split(',').filter((p) => p.trim())) {
    const m = /^\s*([^=\s]{1,200})\s*=\s*([a-z_]{1,40})\s*$/.exec(pair);
    if (!m) r.problems.push(`HEARTH_OIDC_ROLE_MAP must be provider-role=hearth-role pairs, got "${pair}"`);
    else roleMap[m[1]] = m[2];
  }
  let host = issuer;
  try {
    host = new URL(issuer).host;
  } catch {
    // reported by checkUrl
  }
  return {
    issuer,
    clientId: clientId ?? '',
    clientSecret: r.optional('HEARTH_OIDC_CLIENT_SECRET'),
    name: r.str('HEARTH_OIDC_NAME', host),
    scopes: r.str('HEARTH_OIDC_SCOPES', 'openid profile email'),
    rolesClaim: r.str('HEARTH_OIDC_ROLES_CLAIM', 'roles'),
    tenantClaim: r.str('HEARTH_OIDC_TENANT_CLAIM', 'hearth_tenant'),
    usernameClaim: r.str('HEARTH_OIDC_USERNAME_CLAIM', 'preferred_username'),
    roleMap,
    allowInsecure,
  };
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const port = r.int('PORT', 8080, 0, 65535);
  const databaseUrl = r.optional('DATABASE_URL');
  checkDatabaseUrl(r, databaseUrl);
  const publicUrl = r.str('HEARTH_PUBLIC_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  checkUrl(r, 'HEARTH_PUBLIC_URL', publicUrl, ['http:', 'https:']);
  const listenDatabaseUrl = r.optional('HEARTH_LISTEN_DATABASE_URL');
  if (listenDatabaseUrl !== null && !/^postgres(ql)?:\/\//.test(listenDatabaseUrl)) {
    r.problems.push('HEARTH_LISTEN_DATABASE_URL must be a postgres:// URL');
  }
  const readDatabaseUrls = (r.optional('HEARTH_READ_DATABASE_URL') ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of readDatabaseUrls) {
    if (!/^postgres(ql)?:\/\//.test(u))
      r.problems.push('HEARTH_READ_DATABASE_URL must be postgres:// URLs separated by commas');
  }
  if (readDatabaseUrls.length > 0 && !databaseUrl?.startsWith('postgres')) {
    r.problems.push(
      'HEARTH_READ_DATABASE_URL needs DATABASE_URL to be a PostgreSQL server (the embedded database has no replicas)',
    );
  }
  const redisUrl = r.optional('REDIS_URL');
  checkUrl(r, 'REDIS_URL', redisUrl, ['redis:', 'rediss:']);
  const rootClientId = r.optional('HEARTH_ROOT_CLIENT_ID');
  const rootClientSecret = r.optional('HEARTH_ROOT_CLIENT_SECRET');
  if ((rootClientId === null) !== (rootClientSecret === null)) {
    r.problems.push('HEARTH_ROOT_CLIENT_ID and HEARTH_ROOT_CLIENT_SECRET must be set together');
  }
  if (rootClientId !== null && !/^[A-Za-z0-9._-]{3,64}$/.test(rootClientId)) {
    r.problems.push('HEARTH_ROOT_CLIENT_ID must be 3 to 64 letters, digits, dots, dashes or underscores');
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
    publicUrlConfigured: r.optional('HEARTH_PUBLIC_URL') === null ? null : publicUrl,
    listenDatabaseUrl,
    readDatabaseUrls,
    readMaxLagMs: r.int('HEARTH_READ_MAX_LAG_MS', 2000, 100, 600_000),
    dbPoolSize: r.int('HEARTH_DB_POOL_SIZE', 10, 1, 200),
    dbPoolWaitMs: r.int('HEARTH_DB_POOL_WAIT_MS', 5000, 100, 120_000),
    tokenTtlSeconds: r.int('HEARTH_TOKEN_TTL', 3600, 60, 86400),
    rootClientId,
    rootClientSecret,
    cliToken: r.optional('HEARTH_TOKEN'),
    rateLimitPerMinute: r.int('HEARTH_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    tokenRateLimitPerMinute: r.int('HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    redisUrl,
    idempotencyTtlSeconds: r.int('HEARTH_IDEMPOTENCY_TTL', 86400, 60, 30 * 86400),
    runWorkers: r.bool('HEARTH_WORKERS', true),
    shutdownDrainMs: r.int('HEARTH_SHUTDOWN_DRAIN_MS', 5000, 0, 120_000),
    attachmentMaxBytes: r.int('HEARTH_ATTACHMENT_MAX_BYTES', 10 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    importMaxBytes: r.int('HEARTH_IMPORT_MAX_BYTES', 1024 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    exchangeMaxBytes: r.int('HEARTH_EXCHANGE_MAX_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    exchangeMaxRecords: r.int('HEARTH_EXCHANGE_MAX_RECORDS', 10_000, 1, 1_000_000),
    webhooks: loadWebhookConfig(r),
    dci: loadDciConfig(r, publicUrl),
    users: loadUsersConfig(r),
    sessions: loadSessionConfig(r, publicUrl),
    oidc: loadOidcConfig(r),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
