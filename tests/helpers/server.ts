import { PassThrough } from 'node:stream';
import type { SQL } from 'drizzle-orm';
import { createFmAuthClient, type FmAuthClient, type TokenPair } from 'fm-auth/client';
import { expect, inject } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { buildContainer, type Container } from '../../src/container.js';
import { createHttpServer, listen } from '../../src/http/server.js';

export const TEST_JWT_SECRET = 'test-only-jwt-signing-key-0123456789abcdefghijkl';

/**
 * The limits stay on, with budgets no test run reaches: every test sends from 127.0.0.1 and all
 * servers of a run count in one database. Tests of the limits set their own, and their own
 * client addresses (TRUST_PROXY with X-Forwarded-For).
 */
export const SUITE_WIDE_LIMITS = {
  RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '10000000',
  LOGIN_IP_MAX_FAILURES: '1000000',
  EMAIL_MAX_PER_CLIENT_PER_HOUR: '1000000',
};

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
  /** Untyped: for requests the spec forbids (invalid input, hostile headers). Everything else goes through `client`. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** The typed client (`fm-auth/client`) of this server, holding `tokens` when given; requests are checked against the spec. */
  client(tokens?: TokenPair): FmAuthClient;
  /**
   * Runs SQL on the test database. Tests never call it themselves: only the named fixtures of
   * tests/helpers/time-travel.ts (state only time makes) and tests/helpers/database-facts.ts (facts no API shows).
   */
  query<T = Record<string, unknown>>(statement: SQL): Promise<T[]>;
  /** Everything the service logged so far, as one string. */
  logs(): string;
  close(): Promise<void>;
}

export interface ServerOptions {
  /**
   * Every request claims this client address (X-Forwarded-For; the server needs TRUST_PROXY),
   * so a test of per-client limits counts only its own traffic, not the rest of the run's.
   */
  clientAddress?: string;
  /** Sees every SQL statement the service sends, with its parameters. */
  onQuery?: (statement: string, parameters: readonly unknown[]) => void;
}

/** The real service on an ephemeral port over the run's PostgreSQL database. */
export async function startServer(env: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  const settings = {
    ENVIRONMENT: 'test',
    DATABASE_URL: inject('databaseUrl'),
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    LOG_LEVEL: 'debug',
    ...SUITE_WIDE_LIMITS,
    ...env,
  };
  // Listening first, so PUBLIC_URL (SAML entity ids and ACS URLs) can name the real port.
  const server = createHttpServer(loadConfig({ PUBLIC_URL: 'https://127.0.0.1', ...settings }).http);
  const baseUrl = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  const config = loadConfig({ PUBLIC_URL: baseUrl, ...settings });
  const { clientAddress } = options;
  const captured: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => captured.push(chunk.toString('utf8')));
  const container = await buildContainer(config, { logDestination: sink, onQuery: options.onQuery });
  server.on('request', createApp(container));

  return {
    baseUrl,
    container,
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(clientAddress ? { 'x-forwarded-for': clientAddress } : {}),
        ...requestOptions.headers,
      };
      let body: string | undefined;
      if (requestOptions.rawBody !== undefined) body = requestOptions.rawBody;
      else if (requestOptions.body !== undefined) {
        body = JSON.stringify(requestOptions.body);
        headers['content-type'] ??= 'application/json';
      }
      if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
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
    client: (tokens) =>
      createFmAuthClient({
        baseUrl,
        tokens,
        headers: clientAddress ? { 'x-forwarded-for': clientAddress } : undefined,
        // As the untyped helper: a redirect is the answer under test, not something to follow.
        fetch: (request) => fetch(new Request(request, { redirect: 'manual' })),
      }),
    // The tests always run on postgres.js, whose execute() answers the rows as an array.
    query: async <T>(statement: SQL) => {
      const rows: unknown = await container.database.db.execute(statement);
      return rows as T[];
    },
    logs: () => captured.join(''),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
      // Every server of the suite ends here, so every log line the suite produced is checked once.
      expect(captured.join(''), 'a password hash reached the log').not.toContain('$argon2');
    },
  };
}
