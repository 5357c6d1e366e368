import cors from 'cors';
import express, { type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import { requireBearer } from './auth/bearer.js';
import type { Container } from './container.js';
import { metricsEndpoint } from './http/metrics-endpoint.js';
import { observeRequests } from './http/observe-requests.js';
import { listOperations } from './http/openapi.js';
import { problemHandler } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { authenticationRouter, operationRouter } from './http/routes.js';
import type { Handlers } from './http/types.js';
import { auditLogHandlers } from './modules/audit-logs/routes.js';
import { authHandlers } from './modules/auth/routes.js';
import { healthHandlers } from './modules/health/routes.js';
import { keyHandlers } from './modules/keys/routes.js';
import { organizationHandlers } from './modules/organizations/routes.js';
import { roleHandlers } from './modules/roles/routes.js';
import { ssoHandlers } from './modules/sso/routes.js';
import { samlHandlers } from './modules/sso/saml-routes.js';
import { teamHandlers } from './modules/teams/routes.js';
import { userHandlers } from './modules/users/routes.js';

const JSON_BODY_LIMIT = '100kb';
// Identity providers post SAML responses as forms; signed ones with certificates run to tens of KB.
const FORM_BODY_LIMIT = '512kb';

/** The Express application over a container. It never listens: main.ts and the tests do. */
export function createApp(container: Container): Express {
  const { config, apiDocument, logger } = container;
  const operations = listOperations(apiDocument);
  const handlers: Handlers = {
    ...authHandlers(container),
    ...healthHandlers(container),
    ...keyHandlers(container),
    ...organizationHandlers(container),
    ...teamHandlers(container),
    ...userHandlers(container),
    ...roleHandlers(container),
    ...auditLogHandlers(container),
    ...ssoHandlers(container),
    ...samlHandlers(container),
  };

  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(
    cors({
      origin: config.cors.origins.includes('*') ? '*' : config.cors.origins,
      credentials: config.cors.allowCredentials,
      exposedHeaders: ['X-Request-ID', 'X-Total-Count', 'Retry-After', 'WWW-Authenticate'],
    }),
  );
  app.use(requestContext(container.requestScope));
  app.use(observeRequests(logger, container.metrics));
  // Not an API operation, so not in the spec: mounted before the validator, which would 404 it.
  app.get('/metrics', metricsEndpoint(container.metrics, config.metricsToken));
  app.use(express.json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  app.use(express.urlencoded({ limit: FORM_BODY_LIMIT, extended: false }));
  app.use(authenticationRouter(operations, requireBearer(container.sessions)));
  app.use(
    OpenApiValidator.middleware({
      // The validator dereferences the document in place: give it its own copy.
      apiSpec: structuredClone(apiDocument) as never,
      validateRequests: { allErrors: true },
      validateResponses: { allErrors: true },
      validateSecurity: false,
      validateFormats: true,
      ajvFormats: { mode: 'full' },
    }),
  );
  app.use(operationRouter(operations, handlers));
  app.use(problemHandler(logger));
  return app;
}
