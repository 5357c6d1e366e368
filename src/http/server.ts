import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/index.js';
import { type ProblemCode, problemType } from '../core/errors.js';

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
  server.on('clientError', answerClientError);
  return server;
}

interface ClientErrorAnswer {
  status: number;
  code: ProblemCode;
  detail: string;
}

const CLIENT_ERRORS: Record<string, ClientErrorAnswer> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'request_headers_too_large', detail: 'The request headers or URL are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', detail: 'The request took too long to arrive' },
};
const NOT_HTTP: ClientErrorAnswer = { status: 400, code: 'request_not_http', detail: 'The request is not valid HTTP' };

/**
 * Requests Node's parser refuses before Express sees them (a 20 KB URL, a stalled request) still
 * get the one problem+json shape, then the connection closes.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { status, code, detail } = CLIENT_ERRORS[err.code ?? ''] ?? NOT_HTTP;
  const title = STATUS_CODES[status] ?? 'Error';
  const requestId = randomUUID();
  const body = JSON.stringify({ type: problemType(status), title, status, detail, code, request_id: requestId });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
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
