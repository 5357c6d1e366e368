import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { SQL } from 'drizzle-orm';
import { expect, inject } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { buildContainer, type Container } from '../../src/container.js';

export const TEST_JWT_SECRET = 'test-only-jwt-signing-key-0123456789abcdefghijkl';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Sent as is, instead of JSON-encoding `body`. */
  rawBody?: string;
}

export interface TestServer {
  baseUrl: string;
  container: Container;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Runs SQL on the test database, for setup the API does not offer yet and for checking effects. */
  query<T = Record<string, unknown>>(statement: SQL): Promise<T[]>;
  /** Everything the service logged so far, as one string. */
  logs(): string;
  close(): Promise<void>;
}

/** The real service on an ephemeral port over the run's PostgreSQL database. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  // Listening first, so PUBLIC_URL (SAML entity ids and ACS URLs) can name the real port.
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    ENVIRONMENT: 'test',
    DATABASE_URL: inject('databaseUrl'),
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    LOG_LEVEL: 'debug',
    PUBLIC_URL: baseUrl,
    ...env,
  });
  const captured: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => captured.push(chunk.toString('utf8')));
  const container = buildContainer(config, { logDestination: sink });
  server.on('request', createApp(container));

  return {
    baseUrl,
    container,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      let body: string | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const response = await fetch(baseUrl + path, { method, headers, body, redirect: 'manual' });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: response.status, headers: response.headers, body: parsed as any, text };
    },
    // The tests always run on postgres.js, whose execute() answers the rows as an array.
    query: async <T>(statement: SQL) => (await container.database.db.execute(statement)) as unknown as T[],
    logs: () => captured.join(''),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.database.close();
      // Every server of the suite ends here, so every log line the suite produced is checked once.
      expect(captured.join(''), 'a password hash reached the log').not.toContain('$argon2');
    },
  };
}
