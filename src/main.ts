import type { Server } from 'node:http';
import { createApp, createManagementApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { buildContainer, type Container } from './container.js';
import { migrateWhenReachable } from './db/client.js';
import { createHttpServer, listen } from './http/server.js';

function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fm-auth cannot start.\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Stops taking traffic, lets in-flight requests finish (bounded), then closes the database and Redis. */
function shutDownOn(signals: NodeJS.Signals[], servers: Server[], container: Container): void {
  const { logger, lifecycle, config } = container;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (lifecycle.shuttingDown) return;
    lifecycle.shuttingDown = true;
    logger.info('shutting down', { signal });
    const drained = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const server of servers) server.closeIdleConnections();
    const timedOut = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
    await Promise.race([drained, timedOut]);
    for (const server of servers) server.closeAllConnections();
    await container.close();
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of signals) process.once(signal, (received) => void shutdown(received));
}

const config = loadConfigOrExit();
const container = await buildContainer(config);
for (const warning of config.warnings) container.logger.warn(warning);
container.logger.info('database', { using: container.database.description });
try {
  await migrateWhenReachable(container.database, config.database.startupWaitMs, (reason) => container.logger.warn('database not reachable yet, retrying', { reason }));
} catch (error) {
  container.logger.error('fm-auth cannot start: the database migration failed', { error });
  await container.close();
  process.exit(1);
}
container.retention.start();
const server = createHttpServer(config.http, createApp(container));
const port = await listen(server, config.port, config.host);
container.logger.info(`fm-auth ${container.version} listening on http://${config.host}:${port}`, { environment: config.environment, port });
const servers = [server];
if (config.management) {
  const { host } = config.management;
  const management = createHttpServer(config.http, createManagementApp(container));
  const managementPort = await listen(management, config.management.port, host);
  container.logger.info(`management (metrics) listening on http://${host}:${managementPort}`, { port: managementPort });
  servers.push(management);
}
shutDownOn(['SIGTERM', 'SIGINT'], servers, container);
