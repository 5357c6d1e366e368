/**
 * Loopback benchmark of the hot authentication paths: starts the real service on an ephemeral
 * port over PostgreSQL (BENCH_DATABASE_URL, default a fresh database on 127.0.0.1:5432), drives
 * it with autocannon, and prints requests/s and latency percentiles. Bounded in time and count;
 * traffic goes to 127.0.0.1 only.
 *
 *   npm run bench            (about 40 s)
 */
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { buildContainer } from '../src/container.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 20;
const API = '/api/v1/enterprise';
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `fm_auth_bench_${Date.now()}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

async function run(title: string, options: autocannon.Options): Promise<void> {
  const result = await autocannon({ duration: SECONDS, connections: CONNECTIONS, ...options });
  const errors = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${title.padEnd(34)} ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   p97.5 ${result.latency.p97_5} ms   p99 ${result.latency.p99} ms   errors ${errors}`,
  );
}

const database = await freshDatabase();
const config = loadConfig({ ...process.env, ENVIRONMENT: 'test', LOG_LEVEL: 'error', DATABASE_URL: database.url, JWT_SECRET_KEY: 'benchmark-only-signing-key-0123456789abcdef' });
const container = buildContainer(config);
await container.database.migrate();
const server = createApp(container).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

try {
  const credentials = { email: `bench.${Date.now()}@example.com`, password: 'benchmark passphrase for login' };
  const json = { 'content-type': 'application/json' };
  const registered = await fetch(`${url}${API}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ ...credentials, full_name: 'Bench', organization_name: 'Bench Co' }),
  });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const tokens = (await (await fetch(`${url}${API}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify(credentials) })).json()) as {
    access_token: string;
  };

  console.log(`fm-auth loopback benchmark: ${CONNECTIONS} connections, ${SECONDS} s each, one process, PostgreSQL ${database.url.split('@')[1]}`);
  await run('GET /health/live', { url: `${url}/health/live` });
  await run('GET /auth/me (JWT + session check)', { url: `${url}${API}/auth/me`, headers: { authorization: `Bearer ${tokens.access_token}` } });
  await run('GET /users/organization/{id}', {
    url: `${url}${API}/users/organization/${(await (await fetch(`${url}${API}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json() as { organization_id: string }).organization_id}`,
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  await run('POST /auth/login (argon2id verify)', { url: `${url}${API}/auth/login`, method: 'POST', headers: json, body: JSON.stringify(credentials) });
} finally {
  server.close();
  // autocannon drops its last requests unanswered; let their handlers finish before the pool closes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  server.closeAllConnections();
  await container.database.close();
  await database.drop();
}
