/**
 * `npm run bench`: the built service (`node dist/main.js`, rate limits off, production logging) on
 * a fresh PostgreSQL database, driven by autocannon from this process over loopback, next to a bare
 * node:http baseline doing the essential work of GET /auth/me. Prints one row per scenario and
 * writes the same as JSON (`--json FILE`, default bench-results.json).
 *
 *   npm run bench                 about 2 minutes: 10 s per scenario, 20 connections
 *   npm run bench -- --smoke      a few seconds per scenario, to prove the benchmark still runs
 *   npm run bench -- --scale      the read and login paths on a nearly empty database, then again
 *                                 after seeding a million users (scripts/bench/scale.ts)
 *
 *   npm run bench -- --profile    GET /auth/me under a CPU profile: the service's CPU per request by
 *                                 layer (JWT, validation, database, logging, ...), next to the baseline's
 *   npm run bench -- --better-auth
 *                                 GET /auth/me next to Better Auth's get-session (organization plugin,
 *                                 the same PostgreSQL), with and without its cookie cache
 *   npm run bench -- --app DIR    benchmark a build made already (a directory as scripts/app-directory.ts makes)
 *
 * BENCH_SECONDS and BENCH_CONNECTIONS override the durations (BENCH_REQUESTS: a number of requests
 * per scenario instead of a duration, for a smoke run that must finish whatever the machine's load); BENCH_ADMIN_DATABASE_URL the server;
 * BENCH_SCALE the seeded sizes of --scale (1 = the full size, 0.1 a tenth).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { createEmptyDatabase } from '../tests/helpers/database.js';
import { freePort } from '../tests/helpers/ports.js';
import { TestIdentityProvider } from '../tests/helpers/saml-idp.js';
import { directoryBytes, drive, type Measure, measurer, memoryMb, type Row } from './bench/measure.js';
import { layerCosts, monotonicMicroseconds } from './bench/profile.js';
import { compareAtScale } from './bench/scale.js';
import { buildAppDirectory } from './app-directory.js';
import { API, isReady, JWT_SECRET, jsonHeaders, login, PASSWORD, post, serviceEnvironment, startTimed, stop } from './bench/service.js';
import { loginRequests, openTenant, RefreshQueue, type RequestState } from './bench/tenant.js';

const SMOKE = process.argv.includes('--smoke');
const SCALE = process.argv.includes('--scale');
const PROFILE = process.argv.includes('--profile');
const BETTER_AUTH = process.argv.includes('--better-auth');
const optionValue = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const APP_DIRECTORY = optionValue('--app');
const JSON_FILE = optionValue('--json') ?? 'bench-results.json';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (SMOKE ? 2 : 10));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? (SMOKE ? 4 : 20));
const REQUESTS = process.env.BENCH_REQUESTS ? Number(process.env.BENCH_REQUESTS) : undefined;
const PER_SCENARIO = REQUESTS === undefined ? `${SECONDS} s a scenario` : `${REQUESTS} requests a scenario`;
const MEMBERS = SMOKE ? 10 : 50;
const SAML_RESPONSES = SMOKE ? 50 : 2000;
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function main(): Promise<void> {
  const app = APP_DIRECTORY ?? (await buildAppDirectory('all', 'fm-auth-bench-app-'));
  const database = await createEmptyDatabase('bench', ADMIN_URL);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serviceEnv = serviceEnvironment(database.url, port);
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {};
  let service: ChildProcess | undefined;
  let baseline: { child: ChildProcess; url: string } | undefined;
  const profileDirectory = PROFILE ? mkdtempSync(join(tmpdir(), 'fm-auth-bench-profile-')) : undefined;
  const profiling = profileDirectory ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`] : [];
  try {
    const cold = await startTimed(process.execPath, [...profiling, join(app, 'dist/main.js')], serviceEnv, isReady(url));
    service = cold.child;
    const pid = service.pid as number;
    extra.coldStartPostgresSeconds = cold.seconds;
    const tenant = await openTenant(app, serviceEnv, url, MEMBERS);
    extra.idleRssMb = memoryMb(pid).rss;
    // --scale compares two runs of one database: only its own backends count, not the rest of a shared server.
    const measure = measurer(pid, { seconds: SECONDS, requests: REQUESTS, connections: CONNECTIONS, database: SCALE ? new URL(database.url).pathname.slice(1) : undefined });
    const logins = loginRequests(tenant.members);
    const refreshes = await RefreshQueue.open(url, tenant.members, CONNECTIONS * 2);
    if (SCALE) {
      await compareAtScale({ url, databaseUrl: database.url, tenant, measure, logins, refreshes, jsonFile: JSON_FILE, perScenario: PER_SCENARIO, connections: CONNECTIONS });
      return;
    }

    const adminTokens = await login(url, tenant.admin);
    const bearer = { authorization: `Bearer ${adminTokens.access_token}` };
    if (BETTER_AUTH) {
      reportComparison(await compareWithBetterAuth(measure, url, bearer));
      return;
    }
    if (profileDirectory) {
      const profiled = await profileAuthMe(measure, url, bearer, async () => service && stop(service), profileDirectory);
      baseline = await startBaseline(database.url, bearer);
      profiled.push(await measure('bare node:http baseline of /auth/me', { url: `${baseline.url}/me`, headers: bearer }, baseline.child.pid));
      reportProfile(profiled);
      return;
    }
    rows.push(await measure('POST /auth/login (argon2id)', { url, requests: [{ setupRequest: logins }] }));
    rows.push(await measure('POST /auth/refresh (chained rotation)', { url, requests: [{ setupRequest: refreshes.request, onResponse: refreshes.keepRotated }] }));
    rows.push(await measure('GET /auth/me', { url: `${url}${API}/auth/me`, headers: bearer }));
    rows.push(await measure('GET /users/{user_id}', { url: `${url}${API}/users/${tenant.members[0]?.id}`, headers: bearer }));
    rows.push(await measure(`GET /users/organization/{id} (${MEMBERS + 1} users)`, { url: `${url}${API}/users/organization/${tenant.organizationId}?limit=50`, headers: bearer }));
    const mixed = (request: autocannon.Request, context: object) => {
      const state = context as RequestState;
      const draw = Math.random();
      state.refreshing = draw >= 0.05 && draw < 0.15;
      if (draw < 0.05) return logins(request);
      if (state.refreshing) return refreshes.request(request, context);
      return { ...request, method: 'GET' as const, path: `${API}/auth/me`, headers: bearer, body: '' };
    };
    rows.push(
      await measure('mix: 5 % login, 10 % refresh, 85 % /auth/me', {
        url,
        requests: [{ setupRequest: mixed, onResponse: (status, body, context) => (context as RequestState).refreshing && refreshes.keepRotated(status, body, context) }],
      }),
    );
    rows.push(await measureSaml(url, tenant.organizationId, adminTokens.access_token, measure));

    baseline = await startBaseline(database.url, bearer);
    rows.push(await measure('bare node:http baseline of /auth/me', { url: `${baseline.url}/me`, headers: bearer }, baseline.child.pid));
    extra.peakRssMb = memoryMb(pid).peak;
    extra.productionInstallMb = (directoryBytes(join(app, 'dist')) + directoryBytes('node_modules/@node-rs')) / 1e6;
  } finally {
    if (baseline) await stop(baseline.child);
    if (service) await stop(service);
    await database.drop();
    if (!APP_DIRECTORY) rmSync(app, { recursive: true, force: true });
    if (profileDirectory) rmSync(profileDirectory, { recursive: true, force: true });
  }
  if (!SMOKE) Object.assign(extra, await measureEmbeddedStart());
  report(rows, extra);
}

/** The bare node:http server doing the essential work of GET /auth/me (scripts/bench/baseline.ts). */
async function startBaseline(databaseUrl: string, bearer: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child } = await startTimed(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench/baseline.ts'],
    { BENCH_DATABASE_URL: databaseUrl, BENCH_JWT_SECRET: JWT_SECRET, BENCH_PORT: String(port) },
    async () => (await fetch(`${url}/me`, { headers: bearer })).status === 200,
  );
  return { child, url };
}

const BETTER_AUTH_HARNESS = 'scripts/bench/better-auth';

/** A short run first, so that neither side is measured cold. */
const warmUp = (url: string, headers: Record<string, string>) => drive({ url, headers, amount: 500, connections: CONNECTIONS });

/**
 * GET /auth/me, then Better Auth 1.7 with its organization plugin on a database of its own on the
 * same server (scripts/bench/better-auth, installed there on first use): get-session reading the
 * session from the database, then answered from its signed cookie cache.
 */
async function compareWithBetterAuth(measure: Measure, url: string, bearer: Record<string, string>): Promise<Row[]> {
  if (!existsSync(join(BETTER_AUTH_HARNESS, 'node_modules'))) {
    const install = spawnSync('npm', ['ci', '--prefix', BETTER_AUTH_HARNESS, '--no-audit', '--no-fund'], { stdio: 'inherit' });
    if (install.status !== 0) throw new Error(`npm ci in ${BETTER_AUTH_HARNESS} failed`);
  }
  await warmUp(`${url}${API}/auth/me`, bearer);
  const rows = [await measure('GET /auth/me', { url: `${url}${API}/auth/me`, headers: bearer })];
  for (const cookieCache of [false, true]) {
    const database = await createEmptyDatabase('bench_better_auth', ADMIN_URL);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = { NODE_ENV: 'production', BENCH_DATABASE_URL: database.url, BENCH_PORT: String(port), BENCH_COOKIE_CACHE: String(cookieCache) };
    const { child } = await startTimed(process.execPath, [join(BETTER_AUTH_HARNESS, 'server.mjs')], env, async () => (await fetch(`${origin}/api/auth/ok`)).ok);
    try {
      const signUp = await fetch(`${origin}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { ...jsonHeaders(), origin },
        body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD, name: 'Bench' }),
      });
      if (!signUp.ok) throw new Error(`Better Auth sign-up answered ${signUp.status}: ${await signUp.text()}`);
      const cookie = {
        cookie: signUp.headers
          .getSetCookie()
          .map((header) => header.split(';')[0])
          .join('; '),
      };
      // get-session answers 200 with null without a session: make sure the load reads a real one.
      const session = (await (await fetch(`${origin}/api/auth/get-session`, { headers: cookie })).json()) as { session?: unknown } | null;
      if (!session?.session) throw new Error('Better Auth answered no session for the signed-up user');
      await warmUp(`${origin}/api/auth/get-session`, cookie);
      rows.push(await measure(`Better Auth get-session${cookieCache ? ' (cookie cache)' : ''}`, { url: `${origin}/api/auth/get-session`, headers: cookie }, child.pid));
    } finally {
      await stop(child);
      await database.drop();
    }
  }
  return rows;
}

function reportComparison(rows: Row[]): void {
  const [me, ...theirs] = rows;
  if (!me) return;
  console.log(`\nGET /auth/me next to Better Auth: ${CONNECTIONS} connections, ${PER_SCENARIO}, loopback, the client on the same cores`);
  console.log(
    `${'scenario'.padEnd(40)} ${'req/s'.padStart(7)} ${'req/cpu-s'.padStart(9)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'errors'.padStart(6)} ${'ratio'.padStart(6)}`,
  );
  for (const row of rows) {
    const ratio = me.requestsPerSecond / (row.requestsPerSecond || 1);
    console.log(
      `${row.scenario.padEnd(40)} ${row.requestsPerSecond.toFixed(0).padStart(7)} ${row.requestsPerServiceCpuSecond.toFixed(0).padStart(9)} ${row.p50.toFixed(1).padStart(6)} ${row.p99.toFixed(1).padStart(6)} ${`${row.errors}`.padStart(6)} ${`${ratio.toFixed(2)}×`.padStart(6)}`,
    );
  }
  writeFileSync(JSON_FILE, `${JSON.stringify({ authMe: me, betterAuth: theirs }, null, 2)}\n`);
  console.log(`ratio: GET /auth/me's requests/s over the row's; wrote ${JSON_FILE}`);
}

type ProfiledRow = Row & { layers?: ReturnType<typeof layerCosts> };

/** GET /auth/me after a warm-up, then the service stopped so that V8 writes its profile: the row, with its CPU per layer. */
async function profileAuthMe(measure: Measure, url: string, bearer: Record<string, string>, stopService: () => Promise<void>, directory: string): Promise<ProfiledRow[]> {
  const target = { url: `${url}${API}/auth/me`, headers: bearer };
  await warmUp(target.url, bearer);
  const window = { fromUs: monotonicMicroseconds(), toUs: 0 };
  const row = await measure('GET /auth/me', target);
  window.toUs = monotonicMicroseconds();
  await stopService();
  return [{ ...row, layers: layerCosts(directory, window, row.requests) }];
}

function reportProfile([me, baseline]: ProfiledRow[]): void {
  if (!me?.layers || !baseline) return;
  const perRequest = (row: Row) => (row.serviceCpuSeconds * 1e6) / (row.requests || 1);
  console.log(`
GET /auth/me under a CPU profile: ${me.requestsPerSecond.toFixed(0)} req/s, ${perRequest(me).toFixed(0)} µs of service CPU a request`);
  console.log(`bare node:http baseline: ${baseline.requestsPerSecond.toFixed(0)} req/s, ${perRequest(baseline).toFixed(0)} µs a request (no profiler)`);
  console.log(`${'layer'.padEnd(46)} ${'µs/request'.padStart(10)} ${'share'.padStart(6)}`);
  for (const { layer, microsecondsPerRequest, share } of me.layers) {
    console.log(`${layer.padEnd(46)} ${microsecondsPerRequest.toFixed(1).padStart(10)} ${`${(share * 100).toFixed(0)} %`.padStart(6)}`);
  }
  writeFileSync(JSON_FILE, `${JSON.stringify({ profile: me, baseline }, null, 2)}\n`);
  console.log(`wrote ${JSON_FILE}`);
}

async function measureSaml(url: string, organizationId: string, token: string, measure: Measure): Promise<Row> {
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
  return measure('POST /sso/{id}/saml/acs (IdP-initiated)', {
    url: acsUrl,
    amount: SAML_RESPONSES,
    connections: Math.min(CONNECTIONS, SAML_RESPONSES),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        setupRequest: (request) => ({ ...request, body: bodies[next++] }),
      },
    ],
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
  console.log(`\nfm-auth benchmark: ${CONNECTIONS} connections, ${PER_SCENARIO}${SMOKE ? ' (smoke run)' : ''}, loopback, the client on the same cores`);
  console.log('req/cpu-s: requests per CPU-second of the service process; db cpu-s: PostgreSQL CPU seconds spent; latencies in ms');
  console.log(
    `${'scenario'.padEnd(48)} ${'req/s'.padStart(7)} ${'req/cpu-s'.padStart(9)} ${'db cpu-s'.padStart(8)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'p99'.padStart(6)} ${'errors'.padStart(6)} ${'rss MB'.padStart(7)}`,
  );
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
