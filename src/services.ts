import type { FastifyBaseLogger } from 'fastify';
import { auditOf, recordAudit } from './audit/audit.js';
import { AuditBuffer } from './audit/buffer.js';
import { createAuditService } from './audit/service.js';
import { Authenticator } from './auth/authenticator.js';
import { ClientCache } from './auth/client-cache.js';
import { deploymentIssuer } from './auth/issuer.js';
import { KeyStore } from './auth/keys.js';
import type { OAuthDeps } from './auth/oauth.js';
import type { Actor } from './auth/principal.js';
import { TokenService } from './auth/tokens.js';
import { createClientService } from './clients/service.js';
import type { Config } from './config.js';
import { createAttachmentService } from './consent/attachments.js';
import { CONSENT_EXPIRY_INTERVAL_MS } from './consent/expiry.js';
import { createConsentService } from './consent/service.js';
import { ChangeFeed } from './db/change-feed.js';
import type { Database } from './db/database.js';
import { ReadReplicas } from './db/read-replicas.js';
import { EventDispatcher } from './events/dispatcher.js';
import { setupDci } from './faces/dci/setup.js';
import { forbidden } from './http/errors.js';
import { createImportService } from './imports/service.js';
import { createExchangeService } from './integrations/exchange-service.js';
import { createIntegrationService } from './integrations/service.js';
import { purgeFinishedJobs } from './jobs/queue.js';
import { JobRunner } from './jobs/runner.js';
import { createMembershipService } from './programs/membership-service.js';
import { createProgramService } from './programs/program-service.js';
import { DbRateLimiter } from './ratelimit/db-limiter.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import { RedisRateLimiter } from './ratelimit/redis-limiter.js';
import { createExtensionService } from './registry/extensions.js';
import { createGeoService } from './registry/geo.js';
import { createHouseholdFilterSearch } from './registry/household-filter-search.js';
import { createHouseholdIdentityService } from './registry/household-identities.js';
import { createHouseholdRegistration } from './registry/household-registration.js';
import { createHouseholdSearch } from './registry/household-search.js';
import { createHouseholdService } from './registry/household-service.js';
import { createPersonFilterSearch } from './registry/person-filter-search.js';
import { createPersonSearch } from './registry/person-search.js';
import { createPersonService } from './registry/person-service.js';
import { createRegistrantLookup } from './registry/registrant-lookup.js';
import { createRelationshipService } from './registry/relationships.js';
import { createOidcSignIn } from './sessions/oidc.js';
import { createSessionService } from './sessions/service.js';
import { createStatsService } from './stats/service.js';
import { createAccessPolicyService } from './tenancy/access-policy.js';
import { createTenantService, createVerticalService, seedSystemVerticals } from './tenancy/service.js';
import { createTenantSettings } from './tenancy/settings.js';
import { createUserService } from './users/service.js';
import { seedVocabularies } from './vocabulary/seed.js';
import { createVocabularyService } from './vocabulary/service.js';
import { setupWebhooks } from './webhooks/setup.js';

/** Builds every domain service of one app instance over one database. */
export async function createServices(config: Config, db: Database, log: FastifyBaseLogger | null = null) {
  // Cross-process cache invalidation: clients, tenants (status, settings) and signing keys.
  const changes = new ChangeFeed(db, { listenUrl: config.listenDatabaseUrl ?? config.databaseUrl, log });
  const keys = new KeyStore(db, config.tokenTtlSeconds, changes);
  await keys.init();
  const clientCache = new ClientCache(db, changes);
  await changes.start();
  const issuer = await deploymentIssuer(db, config.publicUrlConfigured);
  const tokens = new TokenService(keys, issuer, config.tokenTtlSeconds);
  const authenticator = new Authenticator(tokens, clientCache);
  // Background jobs and sweeps; domain services register their handlers on it below.
  const jobs = new JobRunner(db, log);
  const limiter: RateLimiter = config.redisUrl
    ? new RedisRateLimiter(config.redisUrl)
    : new DbRateLimiter(db);

  // Streaming replicas for reads that tolerate their bounded lag (searches, pulls): decision 0093.
  const reads = new ReadReplicas(db, config.readDatabaseUrls, {
    maxLagMs: config.readMaxLagMs,
    poolSize: config.dbPoolSize,
    poolWaitMs: config.dbPoolWaitMs,
    log,
  });
  await reads.start();
  const verticals = createVerticalService(db);
  const tenants = createTenantService(db, [seedSystemVerticals, seedVocabularies], changes);
  const settings = createTenantSettings(changes);
  const accessPolicy = createAccessPolicyService(db, settings);
  const vocabularies = createVocabularyService(db);
  const extensions = createExtensionService(db);
  const geo = createGeoService(db);
  const registryDeps = { db, settings, vocabularies, extensions, reads };
  const persons = createPersonService(registryDeps);
  const personSearch = createPersonSearch(registryDeps);
  const households = createHouseholdService(registryDeps);
  const householdSearch = createHouseholdSearch(db, reads);
  const householdRegistration = createHouseholdRegistration({ db, persons, households });
  const relationships = createRelationshipService(db);
  const householdIdentities = createHouseholdIdentityService({ db, vocabularies });
  const registrantLookup = createRegistrantLookup({ db, settings });
  const personFilterSearch = createPersonFilterSearch(registryDeps);
  const householdFilterSearch = createHouseholdFilterSearch({ db, vocabularies, reads });
  const programs = createProgramService({ db, verticals });
  const programMemberships = createMembershipService({ db, programs });
  const consents = createConsentService({ db, settings, verticals });
  // Bulk person imports: a job per run, plus a sweep that closes or resumes interrupted runs.
  const imports = createImportService({
    db,
    input: registryDeps,
    settings,
    jobs,
    maxBytes: config.importMaxBytes,
    log,
  });
  imports.register();
  if (config.runWorkers) {
    await imports.recover(true).catch((err) => log?.error({ err }, 'person import recovery failed'));
  }
  // Active consents whose window passed become expired, with their grace period (reads already honour the window).
  jobs.addPeriodic('consent-expiry', CONSENT_EXPIRY_INTERVAL_MS, () => consents.expireDue(new Date()));
  jobs.addPeriodic('jobs.retention', 3_600_000, async () => {
    while ((await purgeFinishedJobs(db)) > 0);
  });
  const attachments = createAttachmentService(db);
  const clients = createClientService(db, clientCache, verticals);
  // People: accounts and browser sessions. Sessions are read from the database on every request
  // (no per-process cache), so deactivation and sign-out hold in every process at once.
  const users = createUserService({ db, verticals, config: config.users });
  const sessions = createSessionService({ db, config, limiter });
  const oidc = config.oidc
    ? createOidcSignIn({ db, config: config.oidc, publicUrl: config.publicUrl, sessions })
    : null;
  jobs.addPeriodic('sessions.sweep', 15 * 60_000, async () => {
    await sessions.sweep();
    await oidc?.sweep();
  });
  const integrations = createIntegrationService(db, { clients, clientCache, verticals });
  const exchanges = createExchangeService({
    db,
    persons,
    settings,
    jobs,
    tokens,
    clientCache,
    maxRecords: config.exchangeMaxRecords,
    reads,
  });
  // Outbox events → consumers (webhooks; DCI notifications register here too), every 500 ms.
  const dispatcher = new EventDispatcher(db, log);
  jobs.addPeriodic('events.dispatch', 500, () => dispatcher.dispatchPending());
  dispatcher.onDispatched(() => jobs.nudge());
  const webhooks = setupWebhooks({
    db,
    config: config.webhooks,
    jobs,
    dispatcher,
    clientCache,
    settings,
    log,
  });
  // DCI Social Registry face: its callbacks are jobs, its notifications an outbox consumer.
  const dci = setupDci({ db, config, jobs, dispatcher, clientCache, settings, keys, log });
  const auditBuffer = new AuditBuffer(db, log);
  const audit = createAuditService(db, auditBuffer);
  const stats = createStatsService(db, reads);
  const oauth: OAuthDeps = {
    db,
    clients: clientCache,
    authenticator,
    tokens,
    limiter,
    tokenRateLimit: config.tokenRateLimitPerMinute,
  };
  const signingKeys = {
    async rotate(actor: Actor) {
      if (!actor.principal.isRoot) throw forbidden('only ROOT rotates signing keys');
      const result = await keys.rotate();
      await db.transaction((tx) =>
        recordAudit(tx, actor, auditOf(actor, 'signing_key.rotate', { type: 'signing_key', id: result.kid })),
      );
      return result;
    },
  };

  return {
    changes,
    reads,
    issuer,
    jobs,
    imports,
    keys,
    clientCache,
    tokens,
    authenticator,
    limiter,
    oauth,
    signingKeys,
    tenants,
    accessPolicy,
    verticals,
    clients,
    users,
    sessions,
    oidc,
    integrations,
    exchanges,
    dispatcher,
    webhooks,
    dci: dci.service,
    dciSenders: dci.senders,
    audit,
    auditBuffer,
    stats,
    settings,
    vocabularies,
    extensions,
    geo,
    persons,
    personSearch,
    households,
    householdSearch,
    householdRegistration,
    relationships,
    programs,
    programMemberships,
    householdIdentities,
    registrantLookup,
    personFilterSearch,
    householdFilterSearch,
    consents,
    attachments,
    async close() {
      await jobs.stop();
      await auditBuffer.flush();
      await limiter.close();
      await changes.close();
      await reads.close();
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
