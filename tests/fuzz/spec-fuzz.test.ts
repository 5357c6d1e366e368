import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { FuzzTally, loggedErrors } from './fuzz-report.js';
import { buildWorld, REDIRECT_ALLOWLIST } from './fuzz-setup.js';
import type { FuzzWorld } from './fuzz-world.js';
import { operationShapes } from './operation-shapes.js';
import { RawHttpClient } from './raw-http.js';
import { randomCases, sweepCases } from './run-cases.js';

// Random cases on top of the sweep (about 2,900 cases, fixed by the spec): about 4,000 requests in
// all, a minute of the suite. FUZZ_RUNS=20000 for a longer hunt.
const DEFAULT_RUNS = 1000;
const IN_FLIGHT = 8;

function integerFromEnv(name: string, fallback: () => number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback();
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not "${raw}"`);
  return value;
}

// fast-check seeds are 32-bit integers.
const SEED = integerFromEnv('FUZZ_SEED', () => Math.floor(Math.random() * 2 ** 31));
const RUNS = integerFromEnv('FUZZ_RUNS', () => DEFAULT_RUNS);

let server: TestServer;
let world: FuzzWorld;
let dns: TestDnsServer;

beforeAll(async () => {
  // Errors only: they name the cause of each 5xx; thousands of access log lines would only cost time.
  // The request limits are off and the login lockout brief: thousands of wrong passwords for the
  // shared accounts must not lock the run's own logins out (the throttle has tests of its own).
  // A DNS server of the run's own, publishing nothing: domain verification never leaves this machine.
  dns = await startDnsServer();
  server = await startServer({
    ...dns.env,
    RATE_LIMIT_ENABLED: 'false',
    LOGIN_MAX_FAILURES: '100',
    LOGIN_LOCKOUT_SECONDS: '1',
    LOGIN_FAILURE_WINDOW_SECONDS: '60',
    LOGIN_SLOWDOWN_AFTER_FAILURES: '10000',
    LOG_LEVEL: 'error',
    SSO_REDIRECT_ALLOWLIST: REDIRECT_ALLOWLIST,
  });
  world = await buildWorld(server);
});
afterAll(async () => {
  await server.close();
  await dns.close();
});

/** Runs `work` on every item with at most `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index] as T, index);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe('the whole spec, fuzzed', () => {
  it('answers every generated request without a 5xx, and every 4xx as problem+json with a string detail', async () => {
    console.log(`fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} (set both to replay this run)`);
    const started = Date.now();
    // The operations come from the spec: a new one is fuzzed without touching this file.
    const shapes = operationShapes(server.container.apiDocument);
    const sweep = sweepCases(shapes, world.scopes, SEED);
    const cases = [...sweep, ...randomCases(shapes, world.scopes.random, SEED, RUNS)];

    const client = new RawHttpClient(server.baseUrl, IN_FLIGHT);
    const tally = new FuzzTally(server.baseUrl);
    try {
      await inParallel(cases, IN_FLIGHT, async (fuzzCase, index) => {
        const request = await world.materialize(fuzzCase, `fuzz-${SEED}-${index}`);
        tally.record(fuzzCase, request, await client.send(request));
      });
    } finally {
      client.close();
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${tally.total} requests (${sweep.length} sweep, ${RUNS} random) over ${shapes.length} operations in ${seconds} s` +
        ` (plus ${world.helperRequests} for fresh objects and sessions), seed ${SEED}\n${tally.summary()}`,
    );
    expect(tally.total).toBe(cases.length);
    // The destructive cases had objects and sessions of their own: the shared callers are still signed in.
    expect(await world.sharedTokensWork()).toEqual({ admin: 200, member: 200 });
    if (tally.failureCount > 0) expect.fail(`${tally.failureReport(loggedErrors(server.logs()))}\n\nReplay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}.`);
  }, 240_000);
});
