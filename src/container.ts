import type { Writable } from 'node:stream';
import { AccessControl } from './auth/access.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { Passwords } from './auth/passwords.js';
import { SecretBox } from './auth/secret-box.js';
import { Sessions } from './auth/sessions.js';
import { AccessTokens } from './auth/tokens.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { type ApiDocument, loadApiDocument } from './http/openapi.js';
import { AuditLog, AuditReader } from './modules/audit-logs/service.js';
import { AuthService } from './modules/auth/service.js';
import { HealthService, type Lifecycle } from './modules/health/service.js';
import { OrganizationsService } from './modules/organizations/service.js';
import { RolesService } from './modules/roles/service.js';
import { SamlLoginService } from './modules/sso/saml-login.js';
import { SsoConfigurationsService } from './modules/sso/service.js';
import { TeamsService } from './modules/teams/service.js';
import { UsersService } from './modules/users/service.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { RequestScope } from './observability/request-scope.js';

export interface Container {
  config: Readonly<Config>;
  logger: Logger;
  requestScope: RequestScope;
  passwords: Passwords;
  audit: AuditLog;
  metrics: Metrics;
  database: DatabaseHandle;
  apiDocument: ApiDocument;
  lifecycle: Lifecycle;
  version: string;
  accessTokens: AccessTokens;
  sessions: Sessions;
  services: {
    auth: AuthService;
    health: HealthService;
    organizations: OrganizationsService;
    teams: TeamsService;
    roles: RolesService;
    users: UsersService;
    auditLogs: AuditReader;
    sso: SsoConfigurationsService;
    samlLogin: SamlLoginService;
  };
}

export interface ContainerOptions {
  /** Where log lines go instead of the console (tests capture them). */
  logDestination?: Writable;
}

/** The composition root: the only long-lived state of the service. */
export function buildContainer(config: Readonly<Config>, options: ContainerOptions = {}): Container {
  const requestScope = new RequestScope();
  const logger = createLogger(config, { destination: options.logDestination, scope: requestScope });
  const metrics = new Metrics();
  const database = openDatabase(config.database, {
    observer: metrics.queryObserver,
    echo: (statement) => logger.debug('sql', { statement }),
  });
  const apiDocument = loadApiDocument(config.apiPrefix);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const passwords = Passwords.withBundledList();
  const accessTokens = new AccessTokens(config.jwt);
  const sessions = new Sessions(database.db, accessTokens, config.jwt, metrics);
  const audit = new AuditLog();
  const health = new HealthService(database, lifecycle);
  const access = new AccessControl(database.db, audit);
  const organizations = new OrganizationsService(database.db, access, sessions, audit);
  const teams = new TeamsService(database.db, access, organizations, audit);
  const roles = new RolesService(database.db, access, audit);
  metrics.readFrom({
    databaseUp: async () => (await health.checkDatabase()).status === 'up',
    activeSessions: () => sessions.countActive(),
    poolSize: database.poolSize,
  });
  return {
    config,
    logger,
    requestScope,
    passwords,
    audit,
    metrics,
    database,
    apiDocument,
    lifecycle,
    version: apiDocument.info.version,
    accessTokens,
    sessions,
    services: {
      auth: new AuthService(database.db, passwords, sessions, audit, metrics, new LoginThrottle(database.db, config.loginThrottle), config),
      health,
      organizations,
      teams,
      roles,
      auditLogs: new AuditReader(database.db, access),
      sso: new SsoConfigurationsService(database.db, access, organizations, roles, new SecretBox(config.ssoEncryptionKey), audit, {
        allowHttp: config.environment !== 'production',
      }),
      samlLogin: new SamlLoginService(database.db, sessions, audit, metrics, logger, config),
      users: new UsersService(database.db, access, organizations, teams, roles, sessions, passwords, audit),
    },
  };
}
