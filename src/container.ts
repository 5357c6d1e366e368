import type { Writable } from 'node:stream';
import { Passwords } from './auth/passwords.js';
import { Sessions } from './auth/sessions.js';
import { AccessTokens } from './auth/tokens.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { type ApiDocument, loadApiDocument } from './http/openapi.js';
import { AuditLog } from './modules/audit-logs/service.js';
import { AuthService } from './modules/auth/service.js';
import { HealthService, type Lifecycle } from './modules/health/service.js';
import { createLogger, type Logger } from './observability/logger.js';

export interface Container {
  config: Readonly<Config>;
  logger: Logger;
  database: DatabaseHandle;
  apiDocument: ApiDocument;
  lifecycle: Lifecycle;
  version: string;
  sessions: Sessions;
  services: {
    auth: AuthService;
    health: HealthService;
  };
}

export interface ContainerOptions {
  /** Where log lines go instead of the console (tests capture them). */
  logDestination?: Writable;
}

/** The composition root: the only long-lived state of the service. */
export function buildContainer(config: Readonly<Config>, options: ContainerOptions = {}): Container {
  const logger = createLogger(config, options.logDestination);
  const database = openDatabase(config.database);
  const apiDocument = loadApiDocument(config.apiPrefix);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const passwords = Passwords.withBundledList();
  const sessions = new Sessions(database.db, new AccessTokens(config.jwt), config.jwt);
  const audit = new AuditLog();
  return {
    config,
    logger,
    database,
    apiDocument,
    lifecycle,
    version: apiDocument.info.version,
    sessions,
    services: {
      auth: new AuthService(database.db, passwords, sessions, audit, config),
      health: new HealthService(database, lifecycle),
    },
  };
}
