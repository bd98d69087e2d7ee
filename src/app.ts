import qs from 'node:querystring';
import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerAuditHook } from './audit/hook.js';
import { auditRoutes } from './audit/routes.js';
import { registerAuthHooks } from './auth/hooks.js';
import { authRoutes } from './auth/routes.js';
import { clientRoutes } from './clients/routes.js';
import type { Config } from './config.js';
import { consentRoutes } from './consent/routes.js';
import { consoleRoutes } from './console/routes.js';
import type { Database } from './db/database.js';
import { dciRoutes } from './faces/dci/routes.js';
import { dciSenderRoutes } from './faces/dci/sender-routes.js';
import { g2pFace } from './faces/g2p/routes.js';
import { clientErrorHandler, frameworkErrorHandler } from './faces/raw-errors.js';
import { v2SppRoutes } from './faces/v2-spp/routes.js';
import { AppError } from './http/errors.js';
import { registerInputGuard } from './http/input-guard.js';
import { loggerOptions, registerRequestLog } from './http/logging.js';
import { createMetrics, type Metrics, registerMetricsHooks, registerReplicaMetrics } from './http/metrics.js';
import { sendProblem, toAppError } from './http/problem.js';
import { registerReadYourWrites } from './http/read-your-writes.js';
import { requestIdFrom } from './http/request-id.js';
import type { RouteAuth } from './http/route-auth.js';
import { createValidatorCompiler } from './http/validation.js';
import { registerIdempotencyHooks } from './idempotency/hooks.js';
import { importRoutes } from './imports/routes.js';
import { exchangeRoutes } from './integrations/exchange-routes.js';
import { integrationRoutes } from './integrations/routes.js';
import { registerOpenApi } from './openapi/register.js';
import { backupRoutes } from './ops/backup-routes.js';
import { opsRoutes } from './ops/routes.js';
import { programRoutes } from './programs/routes.js';
import { householdRoutes } from './registry/household-routes.js';
import { personRoutes } from './registry/person-routes.js';
import { registryRoutes } from './registry/registry-routes.js';
import { createServices, type Services } from './services.js';
import { oidcRoutes } from './sessions/oidc-routes.js';
import { sessionRoutes } from './sessions/routes.js';
import { statsRoutes } from './stats/routes.js';
import { tenancyRoutes } from './tenancy/routes.js';
import { userRoutes } from './users/routes.js';
import { vocabularyRoutes } from './vocabulary/routes.js';
import { webhookRoutes } from './webhooks/routes.js';
import './http/route-auth.js';

/** Everything a route or service needs from the running app; no module-level state. */
export interface AppContext {
  config: Config;
  db: Database;
  metrics: Metrics;
  services: Services;
  /** Routes registered on this app with their auth declaration (OpenAPI and the route-walk test). */
  routes: RegisteredRoute[];
  /** Set when a graceful stop begins: /readyz answers 503 so load balancers stop sending. */
  lifecycle: { draining: boolean };
}

export interface RegisteredRoute {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    hearth: AppContext;
  }
}

export interface BuildOptions {
  config: Config;
  db: Database;
  logger?: FastifyBaseLogger;
  /** Default process metrics (CPU, memory) only for the real server, not for every test app. */
  processMetrics?: boolean;
}

export type HearthApp = FastifyInstance & { withTypeProvider: FastifyInstance['withTypeProvider'] };

export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, db } = options;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: loggerOptions(config) }),
    genReqId: requestIdFrom,
    // registerRequestLog writes one line per request, with route template and tenant/client ids.
    disableRequestLogging: true,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: false,
    return503OnClosing: true,
    // Refusals before routing, in the contract's shape (problem+json, G2P, DCI, OAuth).
    frameworkErrors: frameworkErrorHandler(config.dci.participantId),
    clientErrorHandler: clientErrorHandler(config.dci.participantId),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = createMetrics(db, options.processMetrics ?? false);
  const services = await createServices(config, db, app.log);
  registerReplicaMetrics(metrics, services.reads);
  const context: AppContext = { config, db, metrics, services, routes: [], lifecycle: { draining: false } };
  app.decorate('hearth', context);
  app.addHook('onClose', async () => services.close());

  app.setValidatorCompiler(createValidatorCompiler());

  // Bodies are JSON unless a route registers its own parser; text/plain is not accepted.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, { ...qs.parse(body as string) }),
  );

  app.addHook('onRoute', (route) => {
    // The interactive reference is public; its routes come from @fastify/swagger-ui.
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      route.config = { ...route.config, auth: { public: true } };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      context.routes.push({ method, url: route.url, auth: route.config?.auth });
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });

  app.setErrorHandler((err, request, reply) => {
    const { error, internal } = toAppError(err);
    if (internal) request.log.error({ err }, 'unhandled error');
    return sendProblem(request, reply, error);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new AppError('ERR_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  registerMetricsHooks(app, metrics);
  registerRequestLog(app);
  registerInputGuard(app);
  // Parses the session cookie before the auth hook reads it.
  await app.register(fastifyCookie);
  registerAuthHooks(app, {
    db,
    authenticator: services.authenticator,
    sessions: services.sessions,
    limiter: services.limiter,
    defaultRateLimit: config.rateLimitPerMinute,
    basicVerifyRateLimit: config.tokenRateLimitPerMinute,
  });
  registerIdempotencyHooks(app, db, config.idempotencyTtlSeconds);
  registerReadYourWrites(app, services.reads);
  registerAuditHook(app, services.auditBuffer);
  await registerOpenApi(app, config);
  await app.register(opsRoutes);
  await app.register(backupRoutes);
  await app.register(authRoutes);
  await app.register(tenancyRoutes);
  await app.register(clientRoutes);
  await app.register(sessionRoutes);
  await app.register(oidcRoutes);
  await app.register(userRoutes);
  await app.register(integrationRoutes);
  await app.register(exchangeRoutes);
  await app.register(auditRoutes);
  await app.register(statsRoutes);
  await app.register(vocabularyRoutes);
  await app.register(personRoutes);
  await app.register(householdRoutes);
  await app.register(registryRoutes);
  await app.register(consentRoutes);
  await app.register(importRoutes);
  await app.register(webhookRoutes);
  await app.register(g2pFace);
  await app.register(programRoutes);
  await app.register(v2SppRoutes);
  await app.register(dciRoutes, { prefix: '/dci' });
  await app.register(dciSenderRoutes);
  await app.register(consoleRoutes);
  return app;
}
