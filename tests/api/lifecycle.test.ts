import { request as httpRequest } from 'node:http';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { API, expectProblem, login, registerOrganization, STRONG_PASSWORD } from '../helpers/fixtures.js';
import { spawnService } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { TEST_JWT_SECRET } from '../helpers/server.js';

const BURST = 200;

function countReceived(output: string): number {
  return output.match(/request received/g)?.length ?? 0;
}

/** POSTs JSON on a fresh connection; answers the status code, or the error of a failed request. */
function postJson(url: string, body: unknown, client: string): Promise<number | string> {
  return new Promise((resolve) => {
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': client };
    const outgoing = httpRequest(url, { method: 'POST', agent: false, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    outgoing.on('error', (error) => resolve(error.message));
    outgoing.end(JSON.stringify(body));
  });
}

describe('SIGTERM', () => {
  it('finishes every in-flight request of a burst, then exits 0', { timeout: 90_000 }, async () => {
    const service = await spawnService({
      DATABASE_URL: inject('databaseUrl'),
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'debug',
      TRUST_PROXY: '1',
      // Time enough for the whole burst's argon2 on a busy machine: the test is about finishing, not speed.
      SHUTDOWN_TIMEOUT_MS: '50000',
    });
    const email = `burst.${Date.now()}@example.com`;
    const registered = await fetch(`${service.baseUrl}${API}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: STRONG_PASSWORD, full_name: 'Burst', organization_name: 'Burst Co' }),
    });
    expect(registered.status).toBe(201);

    // Each login costs an argon2 verification, so the burst is still running when the signal lands.
    let answered = 0;
    const receivedBefore = countReceived(service.output());
    const burst = Array.from({ length: BURST }, (_, i) =>
      // From many clients, as real traffic: one client's parallel attempts on one account are capped by the login throttle.
      postJson(`${service.baseUrl}${API}/auth/login`, { email, password: STRONG_PASSWORD }, `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`).then((status) => {
        answered += 1;
        return status;
      }),
    );
    // Signal once the service has received every request (its debug log says so): all in flight.
    await expect.poll(() => countReceived(service.output()) - receivedBefore, { timeout: 20_000, interval: 5 }).toBe(BURST);
    const answeredBeforeSignal = answered;
    service.signal('SIGTERM');
    const statuses = await Promise.all(burst);
    expect(answeredBeforeSignal).toBeLessThan(BURST);
    expect(statuses).toEqual(Array(BURST).fill(200));
    expect(await service.exited).toBe(0);
    expect(service.output()).toMatch(/shutting down/);
  });
});

/** A TCP proxy in front of PostgreSQL that a test can cut and restore. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('the database going away and coming back', () => {
  const proxy = new CuttableProxy();
  afterAll(async () => {
    await proxy.cut().catch(() => undefined);
  });

  it('answers 503 problem+json meanwhile and recovers by itself', { timeout: 60_000 }, async () => {
    await proxy.open();
    const url = new URL(inject('databaseUrl'));
    url.port = String(proxy.port);
    const server = await startServer({ DATABASE_URL: url.toString() });
    try {
      const account = await registerOrganization(server);
      const tokens = await login(server, account);

      await proxy.cut();
      expectProblem(await server.request('GET', `${API}/auth/me`, { token: tokens.access_token }), 503, 'database_unavailable');
      const ready = await server.request('GET', '/health/ready');
      expectProblem(ready, 503, 'service_not_ready');
      expect(ready.headers.get('retry-after')).toBe('5');
      expect((await server.request('GET', '/health/live')).status).toBe(200);

      await proxy.open();
      expect((await server.request('GET', '/health/ready')).status).toBe(200);
      expect((await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('starting before the database is up', () => {
  const proxies: CuttableProxy[] = [];
  afterAll(async () => {
    for (const proxy of proxies) await proxy.cut().catch(() => undefined);
  });

  /** A database URL whose port refuses connections until the proxy behind it opens. */
  async function refusedDatabase(): Promise<{ proxy: CuttableProxy; url: string }> {
    const proxy = new CuttableProxy();
    proxies.push(proxy);
    await proxy.open();
    await proxy.cut();
    const url = new URL(inject('databaseUrl'));
    url.port = String(proxy.port);
    return { proxy, url: url.toString() };
  }

  it('waits, retrying, until PostgreSQL accepts connections, then migrates and serves', { timeout: 60_000 }, async () => {
    const database = await refusedDatabase();
    let output = '';
    const starting = spawnService(
      { DATABASE_URL: database.url, JWT_SECRET_KEY: TEST_JWT_SECRET, ENVIRONMENT: 'test', DATABASE_STARTUP_WAIT_MS: '30000' },
      { onOutput: (text) => (output = text) },
    );
    // Opened once the service has been refused (however long its start takes on a busy machine).
    await expect.poll(() => output, { timeout: 30_000, interval: 50 }).toMatch(/database not reachable yet, retrying/);
    await database.proxy.open();
    const service = await starting;
    try {
      expect(service.output()).toMatch(/database not reachable yet, retrying[^\n]*ECONNREFUSED/);
      expect((await fetch(`${service.baseUrl}/health/ready`)).status).toBe(200);
    } finally {
      service.signal('SIGTERM');
      await service.exited;
    }
  });

  it('gives up after DATABASE_STARTUP_WAIT_MS with one clear log line and exit code 1', { timeout: 60_000 }, async () => {
    const database = await refusedDatabase();
    const failure = await spawnService({ DATABASE_URL: database.url, JWT_SECRET_KEY: TEST_JWT_SECRET, ENVIRONMENT: 'test', DATABASE_STARTUP_WAIT_MS: '1500' }).then(
      () => 'started',
      (error: unknown) => (error as Error).message,
    );
    expect(failure).toMatch(/exited with 1 before listening/);
    expect(failure).toMatch(/fm-auth cannot start: the database migration failed[^\n]*ECONNREFUSED/);
    // A log line, not an uncaught exception's stack trace.
    expect(failure).not.toMatch(/triggerUncaughtException|^\s+at /m);
  });
});
