import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { AccessControl } from './auth/access.js';
import { type LimiterFactory, sharedLimiters } from './auth/limiters.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { Passwords } from './auth/passwords.js';
import { SecretBox } from './auth/secret-box.js';
import { Sessions } from './auth/sessions.js';
import { AccessTokens } from './auth/tokens.js';
import { Totp } from './auth/totp.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { Retention } from './db/retention.js';
import { type ApiDocument, loadApiDocument } from './http/openapi.js';
import { AuditLog } from './core/audit-log.js';
import type { RequestMeta } from './core/request-meta.js';
import { AuditReader } from './modules/audit-logs/service.js';
import { MfaService } from './modules/auth/mfa-service.js';
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
  /** Permission and tenant checks; the router runs each operation's `x-permission` through it. */
  access: AccessControl;
  /** Counters shared by every instance (Redis when configured, else the database). */
  limiters: LimiterFactory;
  /** Audits and counts one refusal by a rate limit or login throttle. */
  recordThrottling(limiter: string, meta: RequestMeta, actorUserId?: string): Promise<void>;
  /** Background pruning of dead sessions, spent SAML rows and (when configured) old audit rows. */
  retention: Retention;
  /** Stops the background work, then closes the database and Redis connections. */
  close(): Promise<void>;
  services: {
    auth: AuthService;
    mfa: MfaService;
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
  /** Sees every SQL statement with its parameters (PostgreSQL only): for tests that check query plans. */
  onQuery?: (statement: string, parameters: readonly unknown[]) => void;
}

/** The composition root: the only long-lived state of the service. */
export async function buildContainer(config: Readonly<Config>, options: ContainerOptions = {}): Promise<Container> {
  const requestScope = new RequestScope();
  const logger = createLogger(config, { destination: options.logDestination, scope: requestScope });
  const metrics = new Metrics();
  const database = await openDatabase(config.database, {
    observer: metrics.queryObserver,
    echo: (statement) => logger.debug('sql', { statement }),
    onQuery: options.onQuery,
  });
  const apiDocument = loadApiDocument(config.apiPrefix);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const passwords = Passwords.withBundledList();
  const accessTokens = new AccessTokens(config.jwt);
  const audit = new AuditLog();
  const sessions = new Sessions({ db: database.db, accessTokens, jwt: config.jwt, metrics, audit });
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger) : null;
  const limiters = sharedLimiters(database.db, redis);
  const recordThrottling = async (limiter: string, meta: RequestMeta, actorUserId?: string) => {
    metrics.rateLimited.inc({ limiter });
    await audit.record(database.db, meta, { eventType: 'rate_limit.exceeded', status: 'denied', actorUserId: actorUserId ?? null, context: { limiter } });
  };
  const loginThrottle = new LoginThrottle(limiters, config.loginThrottle, ({ limiter, meta, userId }) => recordThrottling(limiter, meta, userId));
  const health = new HealthService(database, lifecycle);
  const access = new AccessControl(database.db, audit);
  const db = database.db;
  const organizations = new OrganizationsService({ db, access, sessions, audit });
  const teams = new TeamsService({ db, access, organizations, audit });
  const roles = new RolesService({ db, access, audit });
  // One key seals every secret at rest (SSO client secrets, TOTP secrets).
  const secrets = new SecretBox(config.ssoEncryptionKey);
  const mfa = new MfaService({ db, sessions, audit, throttle: loginThrottle, secrets, totp: new Totp(config.mfaTotpIssuer) });
  const retention = new Retention(database.db, config.retention, logger, metrics);
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
    access,
    limiters,
    recordThrottling,
    retention,
    async close() {
      await retention.stop();
      await Promise.all([database.close(), redis?.quit()]);
    },
    services: {
      auth: new AuthService({ db, passwords, sessions, audit, metrics, throttle: loginThrottle, mfa, config }),
      mfa,
      health,
      organizations,
      teams,
      roles,
      auditLogs: new AuditReader(database.db, access),
      sso: new SsoConfigurationsService({
        db,
        access,
        organizations,
        roles,
        secrets,
        audit,
        allowHttp: config.environment !== 'production',
      }),
      samlLogin: new SamlLoginService({ db, sessions, audit, metrics, logger, config }),
      users: new UsersService({ db, access, organizations, teams, roles, sessions, passwords, audit }),
    },
  };
}

/** Redis for shared counters; while it is down the limiters count per instance (their insurance). */
function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'fm-auth' });
  redis.on('error', (error: Error) => logger.warn('redis unavailable', { error }));
  return redis;
}
