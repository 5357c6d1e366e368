import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';

// How often Node looks for requests past their timeouts (its default, 30 s, would let a stalled
// request outlive HTTP_REQUEST_TIMEOUT_MS by that much).
const CONNECTIONS_CHECK_INTERVAL_MS = 1000;

/**
 * The HTTP server with deliberate timeouts: a client that trickles its headers or body holds a
 * connection for at most the configured time, and idle keep-alive connections are closed.
 */
export function createHttpServer(timeouts: Config['http'], listener?: RequestListener): Server {
  const server = createServer({
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_INTERVAL_MS, timeouts.headersTimeoutMs),
  });
  if (listener) server.on('request', listener);
  return server;
}

/**
 * Listens and resolves with the bound port (PORT=0 picks one); a failure to bind (EADDRINUSE)
 * rejects instead of exiting 0 with nothing listening.
 */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
