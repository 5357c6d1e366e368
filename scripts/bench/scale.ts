/**
 * `npm run bench -- --scale`: the login, refresh and read scenarios on the nearly empty database,
 * then again after scripts/bench/scale-seed.ts has filled it, side by side. Targets: every p50 at
 * scale within 1.2× of the empty database's, and one organization's audit-log page under 50 ms
 * (measured on one connection, so the figure is the request's own time, not a queue's).
 */
import { writeFileSync } from 'node:fs';
import type autocannon from 'autocannon';
import type { Measure, Row } from './measure.js';
import { type ScaleSizes, scaleSizes, type Seeding, seedAtScale } from './scale-seed.js';
import { API, login, type Tokens } from './service.js';
import type { loginRequests, RefreshQueue, Tenant } from './tenant.js';

const P50_RATIO_TARGET = 1.2;
const AUDIT_PAGE_TARGET_MS = 50;
const AUDIT_PAGE = 'GET /audit-logs (one organization), 1 connection';

export interface ScaleRun {
  url: string;
  databaseUrl: string;
  tenant: Tenant;
  measure: Measure;
  logins: ReturnType<typeof loginRequests>;
  refreshes: RefreshQueue;
  jsonFile: string;
  /** How long each scenario runs, as the report says it ("10 s a scenario", "20 requests a scenario"). */
  perScenario: string;
  connections: number;
}

interface Comparison {
  scenario: string;
  empty: Row;
  scaled: Row;
  p50Ratio: number;
  withinTarget: boolean;
}

function scaleFactor(): number {
  const factor = Number(process.env.BENCH_SCALE ?? 1);
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`BENCH_SCALE must be a positive number, not ${process.env.BENCH_SCALE}`);
  return factor;
}

/** Every scenario once; fresh tokens each time, since seeding at full size outlasts an access token. */
async function runScenarios(run: ScaleRun): Promise<Row[]> {
  const bearer = (tokens: Tokens) => ({ authorization: `Bearer ${tokens.access_token}` });
  const admin = bearer(await login(run.url, run.tenant.admin));
  const root = bearer(await login(run.url, run.tenant.root));
  const auditLogs = `${run.url}${API}/audit-logs`;
  const scenarios: [string, autocannon.Options][] = [
    ['POST /auth/login (argon2id)', { url: run.url, requests: [{ setupRequest: run.logins }] }],
    ['POST /auth/refresh (chained rotation)', { url: run.url, requests: [{ setupRequest: run.refreshes.request, onResponse: run.refreshes.keepRotated }] }],
    ['GET /auth/me', { url: `${run.url}${API}/auth/me`, headers: admin }],
    ['GET /users/organization/{id} (a page of 50)', { url: `${run.url}${API}/users/organization/${run.tenant.organizationId}?limit=50`, headers: admin }],
    ['GET /audit-logs (one organization, a page of 100)', { url: auditLogs, headers: admin }],
    [AUDIT_PAGE, { url: auditLogs, headers: admin, connections: 1 }],
    // One connection: every request counts the whole trail, and a queue of them would only measure the queue.
    ['GET /audit-logs (platform-wide), 1 connection', { url: auditLogs, headers: root, connections: 1 }],
  ];
  const rows: Row[] = [];
  for (const [scenario, options] of scenarios) rows.push(await run.measure(scenario, options));
  return rows;
}

export async function compareAtScale(run: ScaleRun): Promise<void> {
  const factor = scaleFactor();
  const sizes = scaleSizes(factor);
  console.log('measuring on the nearly empty database');
  const empty = await runScenarios(run);
  console.log(`seeding ${describeSizes(sizes)}`);
  const seeding = await seedAtScale(run.databaseUrl, sizes, run.tenant.organizationId);
  console.log('measuring at scale');
  const scaled = await runScenarios(run);
  const comparisons = empty.map((row, index): Comparison => {
    const atScale = scaled[index] as Row;
    const p50Ratio = atScale.p50 / row.p50;
    return { scenario: row.scenario, empty: row, scaled: atScale, p50Ratio, withinTarget: p50Ratio <= P50_RATIO_TARGET };
  });
  report(run, factor, sizes, seeding, comparisons);
}

function describeSizes(sizes: ScaleSizes): string {
  const n = (value: number) => value.toLocaleString('en-US');
  return `${n(sizes.organizations)} organizations, ${n(sizes.users)} users (${n(sizes.tenantUsers)} in the benchmark's), ${n(sizes.sessions)} sessions, ${n(sizes.auditRows)} audit rows`;
}

function report(run: ScaleRun, factor: number, sizes: ScaleSizes, seeding: Seeding, comparisons: Comparison[]): void {
  const auditPage = comparisons.find((comparison) => comparison.scenario === AUDIT_PAGE)?.scaled.p50 ?? Number.NaN;
  const cell = (row: Row) =>
    [
      row.p50.toFixed(1).padStart(7),
      row.p99.toFixed(1).padStart(7),
      row.requestsPerSecond.toFixed(0).padStart(6),
      ((1000 * row.databaseCpuSeconds) / (row.requests || 1)).toFixed(2).padStart(6),
      `${row.errors}`.padStart(4),
    ].join(' ');
  const heading = ['p50'.padStart(7), 'p99'.padStart(7), 'req/s'.padStart(6), 'db ms'.padStart(6), 'err'.padStart(4)].join(' ');
  console.log(`\nfm-auth at scale (BENCH_SCALE=${factor}): ${run.connections} connections unless said, ${run.perScenario}; latencies in ms`);
  // CPU per request holds still when another process takes cores from the benchmark; latencies do not.
  console.log('db ms: PostgreSQL CPU milliseconds per request');
  console.log(`${''.padEnd(52)} ${'nearly empty'.padEnd(heading.length)}   at scale`);
  console.log(`${'scenario'.padEnd(52)} ${heading}   ${heading}   p50 ratio`);
  for (const { scenario, empty, scaled, p50Ratio, withinTarget } of comparisons) {
    console.log(`${scenario.padEnd(52)} ${cell(empty)}   ${cell(scaled)}   ${p50Ratio.toFixed(2).padStart(5)} ${withinTarget ? 'ok' : `> ${P50_RATIO_TARGET}`}`);
  }
  console.log(
    `one organization's audit-log page at scale, 1 connection: p50 ${auditPage.toFixed(1)} ms (target < ${AUDIT_PAGE_TARGET_MS} ms): ${auditPage < AUDIT_PAGE_TARGET_MS ? 'met' : 'missed'}`,
  );
  console.log(`seeded ${describeSizes(sizes)} in ${seeding.seconds.toFixed(0)} s; database ${seeding.databaseMb.toFixed(0)} MB`);
  console.log(
    `  steps (audit rows load beside the rest): ${Object.entries(seeding.steps)
      .map(([step, seconds]) => `${step} ${seconds.toFixed(1)} s`)
      .join(', ')}`,
  );
  console.log(
    `  rows: ${Object.entries(seeding.rows)
      .map(([table, rows]) => `${table} ${rows.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
  const results = {
    scale: factor,
    perScenario: run.perScenario,
    connections: run.connections,
    sizes,
    seeding,
    scenarios: comparisons,
    auditPageP50Ms: auditPage,
    auditPageWithinTarget: auditPage < AUDIT_PAGE_TARGET_MS,
  };
  writeFileSync(run.jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${run.jsonFile}`);
}
