import cors from 'cors';
import express, { type Express, type Request, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import { requireBearer, requireOperationAccess } from './http/bearer.js';
import { localLimiter } from './auth/limiters.js';
import type { Container } from './container.js';
import { canonicalContentType } from './http/content-type.js';
import { rejectControlCharacters } from './http/control-characters.js';
import { metricsEndpoint } from './http/metrics-endpoint.js';
import { observeRequests } from './http/observe-requests.js';
import { listOperations, requestMediaTypes, type SpecOperation } from './http/openapi.js';
import { problemHandler } from './http/problem.js';
import { AppError } from './core/errors.js';
import { rateLimit } from './http/rate-limit.js';
import { requestContext, requestLocals } from './http/request-context.js';
import { authenticationRouter, operationRouter, perOperation } from './http/routes.js';
import type { Handlers } from './http/types.js';
import { auditLogHandlers } from './modules/audit-logs/routes.js';
import { recoveryHandlers } from './modules/auth/recovery-routes.js';
import { mfaHandlers } from './modules/auth/mfa-routes.js';
import { passkeyHandlers } from './modules/auth/passkey-routes.js';
import { authHandlers } from './modules/auth/routes.js';
import { documentationHandlers } from './modules/documentation/routes.js';
import { domainHandlers } from './modules/domains/routes.js';
import { healthHandlers } from './modules/health/routes.js';
import { keyHandlers } from './modules/keys/routes.js';
import { organizationHandlers } from './modules/organizations/routes.js';
import { roleHandlers } from './modules/roles/routes.js';
import { ssoHandlers } from './modules/sso/routes.js';
import { oauthHandlers } from './modules/sso/oauth-routes.js';
import { oidcHandlers } from './modules/sso/oidc-routes.js';
import { samlHandlers } from './modules/sso/saml-routes.js';
import { teamHandlers } from './modules/teams/routes.js';
import { userHandlers } from './modules/users/routes.js';

/**
 * Tokens, secrets and personal data pass through here: no browser or proxy may keep a copy (RFC
 * 6749 §5.1). Only `exemptPaths` (the spec's `x-cacheable` documents, the same for everyone) set
 * their own caching.
 */
function neverCached(exemptPaths: ReadonlySet<string> = new Set()): RequestHandler {
  return (req, res, next) => {
    if (!exemptPaths.has(req.path)) res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    next();
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RATE_WINDOW_SECONDS = 60;
const clientOf = (req: Request) => req.ip ?? 'unknown';

/** A generous limit on every request of one client, counted in this instance (cheap on the hot path). */
function globalLimit(container: Container): RequestHandler {
  const points = container.config.rateLimits.globalPerMinute;
  const policy = { name: 'global', points, windowSeconds: RATE_WINDOW_SECONDS, limiter: localLimiter({ name: 'global', points, durationSeconds: RATE_WINDOW_SECONDS }) };
  const limit = rateLimit(policy, clientOf, (res) => container.recordThrottling('global', requestLocals(res).meta));
  // Probes come from the orchestrator, often through the same address as clients.
  return (req, res, next) => (req.path.startsWith('/health') ? next() : limit(req, res, next));
}

/** The per-client limit of one public endpoint (login, register, refresh, SSO), shared by every instance. */
function publicLimit(container: Container, operation: SpecOperation): RequestHandler {
  const points = container.config.rateLimits.publicPerMinute;
  const name = `public_${operation.operationId}`;
  const policy = { name: 'public', points, windowSeconds: RATE_WINDOW_SECONDS, limiter: container.limiters({ name, points, durationSeconds: RATE_WINDOW_SECONDS }) };
  return rateLimit(policy, clientOf, (res) => container.recordThrottling(name, requestLocals(res).meta));
}

const JSON_BODY_LIMIT = '100kb';
// Identity providers post SAML responses as forms; signed ones with certificates run to tens of KB.
const FORM_BODY_LIMIT = '512kb';

/** The Express application over a container. It never listens: main.ts and the tests do. */
export function createApp(container: Container): Express {
  const { config, apiDocument, logger } = container;
  const operations = listOperations(apiDocument);
  const handlers: Handlers = {
    ...authHandlers(container),
    ...recoveryHandlers(container),
    ...mfaHandlers(container),
    ...passkeyHandlers(container),
    ...healthHandlers(container),
    ...keyHandlers(container),
    ...organizationHandlers(container),
    ...domainHandlers(container),
    ...teamHandlers(container),
    ...userHandlers(container),
    ...roleHandlers(container),
    ...auditLogHandlers(container),
    ...ssoHandlers(container),
    ...samlHandlers(container),
    ...oidcHandlers(container),
    ...oauthHandlers(container),
    ...documentationHandlers(container),
  };

  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Express would hash every response body for a weak ETag: API answers are no-store, and the
  // documents set strong ETags of their own (which Express still answers 304 to).
  app.set('etag', false);
  app.use(helmet());
  app.use(
    cors({
      origin: config.cors.origins.includes('*') ? '*' : config.cors.origins,
      credentials: config.cors.allowCredentials,
      exposedHeaders: ['X-Request-ID', 'X-Total-Count', 'Retry-After', 'WWW-Authenticate', 'RateLimit', 'RateLimit-Policy'],
    }),
  );
  // Turned off, the documents answer 404, which is not cached either.
  const cacheablePaths = config.docsEnabled ? operations.filter((operation) => operation.cacheable).map((operation) => operation.path) : [];
  app.use(neverCached(new Set(cacheablePaths)));
  app.use(requestContext(container.requestScope));
  app.use(observeRequests(logger, container.metrics));
  if (config.rateLimits.enabled) {
    app.use(globalLimit(container));
    app.use(perOperation(operations, (operation) => (operation.rateLimited ? [publicLimit(container, operation)] : [])));
  }
  // Not an API operation, so not in the spec: mounted before the validator, which would 404 it.
  // With MANAGEMENT_PORT it lives on the management listener only.
  if (config.management === null) app.get('/metrics', metricsEndpoint(container.metrics, config.metricsToken));
  // No Content-Encoding: compressed bodies would only add a decompression-bomb surface to an API of small bodies.
  app.use(express.json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'], inflate: false }));
  app.use(express.urlencoded({ limit: FORM_BODY_LIMIT, extended: false, inflate: false }));
  app.use(rejectControlCharacters);
  app.use(canonicalContentType(requestMediaTypes(apiDocument)));
  app.use(authenticationRouter(operations, requireBearer(container.sessions), (operation) => requireOperationAccess(container.access, operation)));
  app.use(
    OpenApiValidator.middleware({
      // The validator dereferences the document in place: give it its own copy.
      apiSpec: structuredClone(apiDocument) as never,
      validateRequests: { allErrors: true },
      validateResponses: { allErrors: true },
      validateSecurity: false,
      validateFormats: true,
      ajvFormats: { mode: 'full' },
      // Ajv's uuid also takes the `urn:uuid:` form, which PostgreSQL's uuid type refuses.
      formats: { uuid: { type: 'string', validate: (value: string) => UUID.test(value) } },
    }),
  );
  app.use(operationRouter(operations, handlers));
  app.use(problemHandler(logger));
  return app;
}

/** The management listener (MANAGEMENT_PORT): /metrics on an address the operator chooses, away from the API. */
export function createManagementApp(container: Container): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(neverCached());
  app.get('/metrics', metricsEndpoint(container.metrics, container.config.metricsToken));
  app.use((_req, _res, next) => next(AppError.notFound('route_not_found', 'The management port serves /metrics only')));
  app.use(problemHandler(container.logger));
  return app;
}
