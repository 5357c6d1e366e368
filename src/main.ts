import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { buildContainer, type Container } from './container.js';

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

function listen(container: Container): Promise<Server> {
  const { host, port } = container.config;
  const app = createApp(container);
  return new Promise((resolve) => {
    const server = app.listen(port, host, (err) => {
      // Express 5 hands EADDRINUSE here; ignoring it would exit 0 with nothing listening.
      if (err) throw err;
      resolve(server);
    });
  });
}

/** Stops taking traffic, lets in-flight requests finish (bounded), then closes the database. */
function shutDownOn(signals: NodeJS.Signals[], server: Server, container: Container): void {
  const { logger, lifecycle, database, config } = container;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (lifecycle.shuttingDown) return;
    lifecycle.shuttingDown = true;
    logger.info('shutting down', { signal });
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timedOut = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
    await Promise.race([drained, timedOut]);
    server.closeAllConnections();
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of signals) process.once(signal, (received) => void shutdown(received));
}

const config = loadConfigOrExit();
const container = buildContainer(config);
for (const warning of config.warnings) container.logger.warn(warning);
container.logger.info('database', { using: container.database.description });
await container.database.migrate();
const server = await listen(container);
const address = server.address();
const boundPort = typeof address === 'object' && address ? address.port : config.port;
container.logger.info(`fm-auth ${container.version} listening on http://${config.host}:${boundPort}`, {
  environment: config.environment,
  port: boundPort,
});
shutDownOn(['SIGTERM', 'SIGINT'], server, container);
