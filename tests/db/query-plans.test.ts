import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { createEmptyDatabase, type ScratchDatabase } from '../helpers/database.js';
import { API, type Account, createSuperadmin, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The tables that grow without bound; a sequential scan of one of them is a list page that slows
// down with every login. Small catalog tables (roles, permissions) are scanned legitimately.
const LARGE_TABLES = new Set(['users', 'audit_logs', 'sessions', 'refresh_tokens']);
const OTHER_ORGANIZATIONS = 200;
const USERS_PER_ORGANIZATION = 250;
const AUDIT_ROWS = 200_000;
const SESSIONS = 50_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function sequentialScans(node: PlanNode): string[] {
  const own = node['Node Type'].includes('Seq Scan') && LARGE_TABLES.has(node['Relation Name'] ?? '') ? [node['Relation Name'] as string] : [];
  return [...own, ...(node.Plans ?? []).flatMap(sequentialScans)];
}

let scratch: ScratchDatabase;
let admin: postgres.Sql;
let server: TestServer;
let account: Account;
let tokens: Tokens;
let rootTokens: Tokens;
let captured: { statement: string; parameters: readonly unknown[] }[] = [];

/** Seeded in one statement per table with generate_series: minutes would make this a benchmark. */
async function seed(sql: postgres.Sql): Promise<void> {
  await sql`insert into organizations (name, slug) select 'Seeded ' || n, 'seeded-' || n from generate_series(1, ${OTHER_ORGANIZATIONS}) n`;
  await sql`
    insert into users (organization_id, email, full_name, created_at)
    select o.id, 'seeded' || o.slug || '.' || n || '@seeded.example', 'Seeded User ' || n, now() - (n || ' minutes')::interval
    from organizations o cross join generate_series(1, ${USERS_PER_ORGANIZATION}) n where o.slug like 'seeded-%'`;
  await sql`
    insert into sessions (user_id, auth_method, expires_at, created_at)
    select id, 'password', now() + interval '7 days', now() from users, generate_series(1, 1) limit ${SESSIONS}`;
  await sql`
    insert into audit_logs (organization_id, actor_user_id, event_type, status, created_at)
    select u.organization_id, u.id, (array['auth.login', 'auth.logout', 'user.updated', 'auth.token_refreshed'])[1 + n % 4], 'success',
           now() - (n || ' seconds')::interval
    from generate_series(1, ${AUDIT_ROWS}) n
    join (select id, organization_id, row_number() over (order by id) - 1 as rn from users) u
      on u.rn = n % ${OTHER_ORGANIZATIONS * USERS_PER_ORGANIZATION}`;
  await sql`analyze`;
}

beforeAll(async () => {
  scratch = await createEmptyDatabase('plans');
  const database = await openDatabase({ url: scratch.url, dataDir: '', echo: false });
  await database.migrate();
  await database.close();
  admin = postgres(scratch.url, { max: 1, onnotice: () => {} });
  server = await startServer({ DATABASE_URL: scratch.url }, { onQuery: (statement, parameters) => captured.push({ statement, parameters }) });
  account = await registerOrganization(server);
  tokens = await login(server, account);
  const root = await createSuperadmin(scratch.url);
  rootTokens = await login(server, root);
  await seed(admin);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await admin?.end();
  await scratch?.drop();
});

/** Every SELECT one request sent, with the sequential scans of large tables its plan contains. */
async function plansOf(path: string, token: string): Promise<{ statement: string; scans: string[] }[]> {
  captured = [];
  const response = await server.request('GET', `${API}${path}`, { token });
  expect(response.status, response.text).toBe(200);
  const selects = captured.filter(({ statement }) => /^\s*select/i.test(statement));
  expect(selects.length).toBeGreaterThan(0);
  return Promise.all(
    selects.map(async ({ statement, parameters }) => {
      const [row] = await admin.unsafe(`explain (format json) ${statement}`, parameters as postgres.ParameterOrJSON<never>[]);
      const plan = (row as unknown as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan;
      return { statement, scans: sequentialScans(plan) };
    }),
  );
}

describe('query plans over a seeded database', () => {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  it.each([
    ['the users of an organization', (id: string) => `/users/organization/${id}?limit=50`],
    ['a user search', (id: string) => `/users/organization/${id}?q=seeded&limit=50`],
    ['inactive users', (id: string) => `/users/organization/${id}?is_active=false`],
    ['the organization’s audit log', () => '/audit-logs?limit=50'],
    ['its audit log by event type', () => '/audit-logs?event_type=auth.login'],
    ['its audit log by time', () => `/audit-logs?since=${encodeURIComponent(since)}`],
    ['who am I', () => '/auth/me'],
  ])('%s scans no large table', async (_name, path) => {
    for (const { statement, scans } of await plansOf(path(account.organizationId), tokens.access_token)) expect(scans, statement).toEqual([]);
  });

  it.each([
    ['the platform-wide audit log', () => '/audit-logs?limit=50'],
    ['the platform-wide audit log of one user', (userId: string) => `/audit-logs?user_id=${userId}`],
    ['the platform-wide audit log by event type', () => '/audit-logs?event_type=auth.logout'],
    ['all organizations', () => '/organizations?limit=50'],
  ])('%s (super-admin) reads its page without scanning a large table', async (_name, path) => {
    // Not yet its exact total: counting every audit row of the platform is a scan whatever the
    // index (capping or estimating `total` is a contract decision still open in the performance work).
    const plans = (await plansOf(path(account.userId), rootTokens.access_token)).filter(({ statement }) => !statement.startsWith('select count(*) from "audit_logs"'));
    expect(plans.length).toBeGreaterThan(0);
    for (const { statement, scans } of plans) expect(scans, statement).toEqual([]);
  });
});
