import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { AccessControl } from './auth/access.js';
import { EmailTokens } from './auth/email-tokens.js';
import { type LimiterFactory, sharedLimiters } from './auth/limiters.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { Passwords } from './auth/passwords.js';
import { SecretBox } from './auth/secret-box.js';
import { Sessions } from './auth/sessions.js';
import { AccessTokens } from './auth/tokens.js';
import { Totp } from './auth/totp.js';
import { WebAuthn } from './auth/webauthn.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { openPeerBus } from './db/peer-bus.js';
import { Retention } from './db/retention.js';
import { type ApiDocument, loadApiDocument } from './http/openapi.js';
import { AuditLog } from './core/audit-log.js';
import type { RequestMeta } from './core/request-meta.js';
import { AuditReader } from './modules/audit-logs/service.js';
import { RecoveryService } from './modules/auth/recovery.js';
import { MfaChallenges } from './modules/auth/mfa-challenges.js';
import { MfaService } from './modules/auth/mfa-service.js';
import { PasskeyService } from './modules/auth/passkey-service.js';
import { AuthService } from './modules/auth/service.js';
import { AccountMail } from './mail/account-mail.js';
import { MailBudget } from './mail/mail-budget.js';
import { Mailer } from './mail/mailer.js';
import { DomainMail } from './mail/domain-mail.js';
import { DnsChallenges } from './modules/domains/dns-challenge.js';
import { ConsumerDomains } from './modules/domains/domain-names.js';
import { DomainsService } from './modules/domains/service.js';
import { HealthService, type Lifecycle } from './modules/health/service.js';
import { OrganizationsService } from './modules/organizations/service.js';
import { RolesService } from './modules/roles/service.js';
import { SsoDiscoveryService } from './modules/sso/discovery.js';
import { OAuthLoginService } from './modules/sso/oauth-login.js';
import { OidcLoginService } from './modules/sso/oidc-login.js';
import { SamlLoginService } from './modules/sso/saml-login.js';
import { SsoSignIn } from './modules/sso/sso-sign-in.js';
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
  /** The principals of live sessions, for a few seconds; every change to one must invalidate it here, after commit. */
  principals: PrincipalCache;
  /** Permission and tenant checks; the router runs each operation's `x-permission` through it. */
  access: AccessControl;
  /** Counters shared by every instance (Redis when configured, else the database). */
  limiters: LimiterFactory;
  /** Audits and counts one refusal by a rate limit or login throttle. */
  recordThrottling(limiter: string, meta: RequestMeta, actorUserId?: string): Promise<void>;
  /** Outgoing mail; `close` waits for mail still on its way. */
  mailer: Mailer;
  /** Background pruning of dead sessions, spent SAML, OIDC and OAuth rows, mailed links' tokens and (when configured) old audit rows. */
  retention: Retention;
  /** Stops the background work, then closes the database and Redis connections. */
  close(): Promise<void>;
  services: {
    auth: AuthService;
    recovery: RecoveryService;
    mfa: MfaService;
    passkeys: PasskeyService;
    health: HealthService;
    organizations: OrganizationsService;
    domains: DomainsService;
    teams: TeamsService;
    roles: RolesService;
    users: UsersService;
    auditLogs: AuditReader;
    sso: SsoConfigurationsService;
    samlLogin: SamlLoginService;
    oidcLogin: OidcLoginService;
    oauthLogin: OAuthLoginService;
    ssoDiscovery: SsoDiscoveryService;
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
  const databaseUrl = config.database.url;
  const principals = PrincipalCache.open({
    ...config.sessionCache,
    metrics,
    logger,
    ...(databaseUrl ? { connectPeers: (handlers) => openPeerBus(databaseUrl, handlers) } : {}),
  });
  const sessions = new Sessions({ db: database.db, accessTokens, jwt: config.jwt, metrics, audit, principals });
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
  const organizations = new OrganizationsService({ db, access, sessions, principals, audit });
  const secrets = new SecretBox(config.ssoEncryptionKey);
  const ssoSignIn = new SsoSignIn({ db, sessions, principals, audit });
  const teams = new TeamsService({ db, access, organizations, audit });
  const roles = new RolesService({ db, access, principals, audit });
  const mfaChallenges = new MfaChallenges(db, sessions, audit);
  const mfa = new MfaService({ db, challenges: mfaChallenges, audit, throttle: loginThrottle, secrets, totp: new Totp(config.mfaTotpIssuer) });
  const passkeys = new PasskeyService({ db, webauthn: new WebAuthn(config.webauthn), challenges: mfaChallenges, audit, throttle: loginThrottle });
  const mailer = new Mailer(config.mail, logger, (kind, result) => metrics.mails.inc({ kind, result }));
  const emailTokens = new EmailTokens(db);
  const accountMail = new AccountMail(emailTokens, mailer, config.mail);
  const mailBudget = new MailBudget(limiters, config.mail, recordThrottling);
  const retention = new Retention(database.db, config.retention, logger, metrics);
  metrics.readFrom({
    databaseUp: async () => (await health.checkDatabase()).status === 'up',
    activeSessions: () => sessions.countActive(),
    poolSize: database.poolSize,
    sessionCache: () => ({ entries: principals.size, listening: principals.listening }),
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
    principals,
    access,
    limiters,
    recordThrottling,
    mailer,
    retention,
    async close() {
      await Promise.all([retention.stop(), mailer.close()]);
      await Promise.all([principals.close(), database.close(), redis?.quit()]);
    },
    services: {
      auth: new AuthService({
        db,
        passwords,
        sessions,
        principals,
        audit,
        metrics,
        throttle: loginThrottle,
        accountMail,
        mailBudget,
        mfaChallenges,
        config: { ...config, requireVerifiedEmail: config.mail.requireVerifiedEmail },
      }),
      recovery: new RecoveryService({ db, passwords, sessions, principals, audit, tokens: emailTokens, accountMail, mailBudget }),
      mfa,
      passkeys,
      health,
      organizations,
      domains: new DomainsService({
        db,
        organizations,
        audit,
        dns: new DnsChallenges(config.dns),
        consumerDomains: ConsumerDomains.bundled(),
        domainMail: new DomainMail(emailTokens, mailer, config.mail),
        mailBudget,
        tokens: emailTokens,
      }),
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
      samlLogin: new SamlLoginService({ db, signIn: ssoSignIn, metrics, logger, config }),
      oidcLogin: new OidcLoginService({ db, signIn: ssoSignIn, secrets, metrics, logger, config }),
      oauthLogin: new OAuthLoginService({ db, signIn: ssoSignIn, secrets, metrics, logger, config }),
      ssoDiscovery: new SsoDiscoveryService(db, config),
      users: new UsersService({ db, access, organizations, teams, roles, sessions, principals, passwords, audit, accountMail }),
    },
  };
}

/** Redis for shared counters; while it is down the limiters count per instance (their insurance). */
function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'fm-auth' });
  redis.on('error', (error: Error) => logger.warn('redis unavailable', { error }));
  return redis;
}
