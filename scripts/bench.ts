/**
 * `npm run bench`: the built service (`node dist/main.js`, rate limits off, production logging) on
 * a fresh PostgreSQL database, driven by autocannon from this process over loopback, next to a bare
 * node:http baseline doing the essential work of GET /auth/me. Prints one row per scenario and
 * writes the same as JSON (`--json FILE`, default bench-results.json).
 *
 *   npm run bench                 about 2 minutes: 10 s per scenario, 20 connections
 *   npm run bench -- --smoke      a few seconds per scenario, to prove the benchmark still runs
 *
 * BENCH_SECONDS and BENCH_CONNECTIONS override the durations; BENCH_ADMIN_DATABASE_URL the server.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type autocannon from 'autocannon';
import { createEmptyDatabase } from '../tests/helpers/database.js';
import { freePort } from '../tests/helpers/ports.js';
import { TestIdentityProvider } from '../tests/helpers/saml-idp.js';
import { cpuSeconds, directoryBytes, drive, type LoadResult, memoryMb, postgresCpuSeconds } from './bench/measure.js';

const SMOKE = process.argv.includes('--smoke');
const JSON_FILE = process.argv.includes('--json') ? (process.argv[process.argv.indexOf('--json') + 1] ?? 'bench-results.json') : 'bench-results.json';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (SMOKE ? 2 : 10));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? (SMOKE ? 4 : 20));
const MEMBERS = SMOKE ? 10 : 50;
const SAML_RESPONSES = SMOKE ? 50 : 2000;
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const JWT_SECRET = 'benchmark-only-signing-key-0123456789abcdef';
const API = '/api/v1/enterprise';
const PASSWORD = 'benchmark passphrase for login';
// A function, not a shared object: autocannon writes each request's content-length into the headers it is given.
const jsonHeaders = () => ({ 'content-type': 'application/json' });

interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** What autocannon passes from a request to its response (it clears it before the next request). */
interface RequestState {
  refreshToken?: string;
  refreshing?: boolean;
}

interface Row extends LoadResult {
  scenario: string;
  requestsPerServiceCpuSecond: number;
  serviceCpuSeconds: number;
  databaseCpuSeconds: number;
  rssMb: number;
}

/** Starts a process and answers it with the seconds until `ready()` first holds. */
async function startTimed(command: string, args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>): Promise<{ child: ChildProcess; seconds: number }> {
  const started = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', process.env.BENCH_SERVICE_LOG ? 'inherit' : 'ignore', 'inherit'] });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`))));
  for (;;) {
    if (await Promise.race([ready().catch(() => false), exited])) return { child, seconds: (performance.now() - started) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const isReady = (url: string) => async () => (await fetch(`${url}/health/ready`)).status === 200;

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { ...jsonHeaders(), ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

let clients = 0;
/** Each login comes from a client of its own, as real traffic: one client's parallel logins to one account are throttled. */
const anotherClient = () => {
  clients += 1;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
};

/** The files the image holds, built apart from dist/ (a build there may be running too). */
async function buildApp(): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), 'fm-auth-bench-app-'));
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--outdir', join(app, 'dist')]);
  for (const source of ['package.json', 'spec', 'drizzle']) cpSync(source, join(app, source), { recursive: true });
  symlinkSync(join(process.cwd(), 'node_modules'), join(app, 'node_modules'));
  return app;
}

async function main(): Promise<void> {
  const app = await buildApp();
  const database = await createEmptyDatabase('bench', ADMIN_URL);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serviceEnv = {
    NODE_ENV: 'production',
    ENVIRONMENT: 'test',
    DATABASE_URL: database.url,
    JWT_SECRET_KEY: JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: url,
    RATE_LIMIT_ENABLED: 'false',
    TRUST_PROXY: '1',
    RETENTION_INTERVAL_SECONDS: '0',
  };
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {};
  let service: ChildProcess | undefined;
  let baseline: ChildProcess | undefined;
  try {
    const cold = await startTimed(process.execPath, [join(app, 'dist/main.js')], serviceEnv, isReady(url));
    service = cold.child;
    const pid = service.pid as number;
    extra.coldStartPostgresSeconds = cold.seconds;

    const admin = { email: `bench.admin.${Date.now()}@example.com`, password: PASSWORD };
    const registered = await post<{ organization_id: string }>(`${url}${API}/auth/register`, { ...admin, full_name: 'Bench Admin', organization_name: 'Bench Co' });
    const organizationId = registered.organization_id;
    const adminTokens = await post<Tokens>(`${url}${API}/auth/login`, admin);
    // The members, the admin, and the user the SAML scenario provisions just in time.
    await allowMembers(app, serviceEnv, url, organizationId, MEMBERS + 2);
    const members: { id: string; email: string }[] = [];
    for (let i = 0; i < MEMBERS; i += 1) {
      const email = `bench.member.${i}.${Date.now()}@example.com`;
      members.push(await post(`${url}${API}/users`, { organization_id: organizationId, email, full_name: `Member ${i}`, password: PASSWORD }, adminTokens.access_token));
    }
    extra.idleRssMb = memoryMb(pid).rss;

    /** One scenario: its load, the CPU the service and PostgreSQL spent on it, the service's memory after. */
    const measure = async (scenario: string, options: autocannon.Options, target = pid) => {
      const [serviceBefore, databaseBefore] = [cpuSeconds(target), postgresCpuSeconds()];
      const load = await drive({ ...(options.amount ? {} : { duration: SECONDS }), connections: CONNECTIONS, ...options });
      const serviceCpu = cpuSeconds(target) - serviceBefore;
      const row: Row = {
        scenario,
        ...load,
        serviceCpuSeconds: serviceCpu,
        requestsPerServiceCpuSecond: load.requests / (serviceCpu || 1),
        // PostgreSQL backends that exit during a scenario take their CPU time with them: a floor, not a sum.
        databaseCpuSeconds: Math.max(0, postgresCpuSeconds() - databaseBefore),
        rssMb: memoryMb(target).rss,
      };
      rows.push(row);
      return row;
    };
    const bearer = { authorization: `Bearer ${adminTokens.access_token}` };
    let member = 0;
    const loginRequest = (request: autocannon.Request) => ({
      ...request,
      method: 'POST' as const,
      path: `${API}/auth/login`,
      headers: { ...jsonHeaders(), 'x-forwarded-for': anotherClient() },
      body: JSON.stringify({ email: members[member++ % members.length]?.email, password: PASSWORD }),
    });
    // Sessions rotate as clients use them: each refresh presents the newest token of a session (a
    // queue of them, one per session, so none is presented twice) and queues the one it gets back.
    const latestRefreshTokens: string[] = [];
    for (let i = 0; i < CONNECTIONS * 2; i += 1) {
      latestRefreshTokens.push((await post<Tokens>(`${url}${API}/auth/login`, { email: members[i % members.length]?.email, password: PASSWORD })).refresh_token);
    }
    const refreshRequest = (request: autocannon.Request, context: object) => {
      const refreshToken = latestRefreshTokens.shift();
      (context as RequestState).refreshToken = refreshToken;
      return { ...request, method: 'POST' as const, path: `${API}/auth/refresh`, headers: jsonHeaders(), body: JSON.stringify({ refresh_token: refreshToken }) };
    };
    const keepRotatedToken = (status: number, body: string, context: object) => {
      const state = context as RequestState;
      if (status === 200) latestRefreshTokens.push((JSON.parse(body) as Tokens).refresh_token);
      else if (state.refreshToken) latestRefreshTokens.push(state.refreshToken);
    };

    await measure('POST /auth/login (argon2id)', { url, requests: [{ setupRequest: loginRequest }] });
    await measure('POST /auth/refresh (chained rotation)', { url, requests: [{ setupRequest: refreshRequest, onResponse: keepRotatedToken }] });
    await measure('GET /auth/me', { url: `${url}${API}/auth/me`, headers: bearer });
    await measure('GET /users/{user_id}', { url: `${url}${API}/users/${members[0]?.id}`, headers: bearer });
    await measure(`GET /users/organization/{id} (${MEMBERS + 1} users)`, { url: `${url}${API}/users/organization/${organizationId}?limit=50`, headers: bearer });
    const mixed = (request: autocannon.Request, context: object) => {
      const state = context as RequestState;
      const draw = Math.random();
      state.refreshing = draw >= 0.05 && draw < 0.15;
      if (draw < 0.05) return loginRequest(request);
      if (state.refreshing) return refreshRequest(request, context);
      return { ...request, method: 'GET' as const, path: `${API}/auth/me`, headers: bearer, body: '' };
    };
    await measure('mix: 5 % login, 10 % refresh, 85 % /auth/me', {
      url,
      requests: [{ setupRequest: mixed, onResponse: (status, body, context) => (context as RequestState).refreshing && keepRotatedToken(status, body, context) }],
    });
    await measureSaml(url, organizationId, adminTokens.access_token, measure);

    const baselinePort = await freePort();
    const baselineUrl = `http://127.0.0.1:${baselinePort}`;
    baseline = (
      await startTimed(
        process.execPath,
        ['--import', 'tsx', 'scripts/bench/baseline.ts'],
        { BENCH_DATABASE_URL: database.url, BENCH_JWT_SECRET: JWT_SECRET, BENCH_PORT: String(baselinePort) },
        async () => (await fetch(`${baselineUrl}/me`, { headers: bearer })).status === 200,
      )
    ).child;
    await measure('bare node:http baseline of /auth/me', { url: `${baselineUrl}/me`, headers: bearer }, baseline.pid);
    extra.peakRssMb = memoryMb(pid).peak;
  } finally {
    if (baseline) await stop(baseline);
    if (service) await stop(service);
    await database.drop();
  }
  if (!SMOKE) Object.assign(extra, await measureEmbeddedStart());
  extra.productionInstallMb = (directoryBytes(join(app, 'dist')) + directoryBytes('node_modules/@node-rs')) / 1e6;
  rmSync(app, { recursive: true, force: true });
  report(rows, extra);
}

/** An organization holds 25 users by default; only the platform super-admin (made by the admin CLI) raises that. */
async function allowMembers(app: string, env: NodeJS.ProcessEnv, url: string, organizationId: string, users: number): Promise<void> {
  const root = { email: `bench.root.${Date.now()}@example.com`, password: PASSWORD };
  const cli = spawn(process.execPath, [join(app, 'dist/cli/admin.js'), 'create-superadmin', '--email', root.email], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'inherit'] });
  cli.stdin.end(`${PASSWORD}\n`);
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  if (code !== 0) throw new Error(`create-superadmin exited with ${String(code)}`);
  const rootTokens = await post<Tokens>(`${url}${API}/auth/login`, root);
  const response = await fetch(`${url}${API}/organizations/${organizationId}`, {
    method: 'PUT',
    headers: { ...jsonHeaders(), authorization: `Bearer ${rootTokens.access_token}` },
    body: JSON.stringify({ max_users: users }),
  });
  if (!response.ok) throw new Error(`raising max_users answered ${response.status}: ${await response.text()}`);
}

async function measureSaml(url: string, organizationId: string, token: string, measure: (scenario: string, options: autocannon.Options) => Promise<Row>): Promise<void> {
  const idp = new TestIdentityProvider();
  const config = await post<{ id: string }>(
    `${url}${API}/sso`,
    {
      organization_id: organizationId,
      provider_type: 'saml',
      provider_name: 'Bench IdP',
      saml_entity_id: idp.entityId,
      saml_sso_url: 'https://idp.bench.example/sso',
      saml_x509_cert: idp.certificate,
      auto_create_users: true,
      allow_idp_initiated: true,
    },
    token,
  );
  const acsUrl = `${url}${API}/sso/${config.id}/saml/acs`;
  const target = { entityId: `${url}${API}/sso/${config.id}/saml/metadata`, acsUrl };
  // Each signed response is accepted once (replay cache): one per request, made before the clock starts.
  const bodies = Array.from({ length: SAML_RESPONSES }, () =>
    new URLSearchParams({ SAMLResponse: idp.response(target, { nameId: 'bench|saml-user', attributes: { email: 'saml.bench@example.com' } }) }).toString(),
  );
  let next = 0;
  await measure('POST /sso/{id}/saml/acs (IdP-initiated)', {
    url: acsUrl,
    amount: SAML_RESPONSES,
    connections: Math.min(CONNECTIONS, SAML_RESPONSES),
    requests: [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++] }) }],
  });
}

/** The embedded default as `npm start` runs it (from source): a first start on an empty data directory, then a restart. */
async function measureEmbeddedStart(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-auth-bench-data-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ENVIRONMENT: 'development', RETENTION_INTERVAL_SECONDS: '0' };
  try {
    const first = await startTimed(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, isReady(url));
    const rssAtReady = memoryMb(first.child.pid as number).rss;
    await stop(first.child);
    const restart = await startTimed(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, isReady(url));
    await stop(restart.child);
    return { embeddedFirstStartSeconds: first.seconds, embeddedRestartSeconds: restart.seconds, embeddedRssAtReadyMb: rssAtReady };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(rows: Row[], extra: Record<string, unknown>): void {
  const baseline = rows.find((row) => row.scenario.startsWith('bare'));
  const me = rows.find((row) => row.scenario === 'GET /auth/me');
  const ratio = baseline && me ? me.requestsPerSecond / baseline.requestsPerSecond : null;
  console.log(`\nfm-auth benchmark: ${CONNECTIONS} connections, ${SECONDS} s a scenario${SMOKE ? ' (smoke run)' : ''}, loopback, the client on the same cores`);
  console.log('req/cpu-s: requests per CPU-second of the service process; db cpu-s: PostgreSQL CPU seconds spent; latencies in ms');
  console.log(`${'scenario'.padEnd(48)} ${'req/s'.padStart(7)} ${'req/cpu-s'.padStart(9)} ${'db cpu-s'.padStart(8)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'p99'.padStart(6)} ${'errors'.padStart(6)} ${'rss MB'.padStart(7)}`);
  for (const row of rows) {
    console.log(
      `${row.scenario.padEnd(48)} ${row.requestsPerSecond.toFixed(0).padStart(7)} ${row.requestsPerServiceCpuSecond.toFixed(0).padStart(9)} ${row.databaseCpuSeconds.toFixed(1).padStart(8)} ${row.p50.toFixed(1).padStart(6)} ${row.p95.toFixed(1).padStart(6)} ${row.p99.toFixed(1).padStart(6)} ${`${row.errors}`.padStart(6)} ${row.rssMb.toFixed(0).padStart(7)}`,
    );
  }
  if (ratio !== null) console.log(`GET /auth/me reaches ${ratio.toFixed(2)} of the bare baseline's throughput`);
  for (const [name, value] of Object.entries(extra)) console.log(`${name}: ${typeof value === 'number' ? value.toFixed(2) : String(value)}`);
  writeFileSync(JSON_FILE, `${JSON.stringify({ smoke: SMOKE, seconds: SECONDS, connections: CONNECTIONS, scenarios: rows, authMeOfBaseline: ratio, ...extra }, null, 2)}\n`);
  console.log(`wrote ${JSON_FILE}`);
}

await main();
