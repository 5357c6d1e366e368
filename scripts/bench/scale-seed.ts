/**
 * The data of `npm run bench -- --scale`, written straight into the service's schema with
 * `insert ... select ... from generate_series(...)`: organizations of ~100 users in three teams,
 * their roles, sessions (live, expired, revoked) with their refresh tokens, and months of audit
 * rows. The benchmark's own organization gets a hundredth of the users, and their share of sessions
 * and audit rows, so its lists read a large tenant.
 *
 * Rows are numbered; an id is a function of its number (pg_temp.seed_id), so a row can name another
 * (a session its user, an audit row its actor's organization) without a join.
 */
import postgres from 'postgres';
import { SYSTEM_ROLE_IDS } from '../../src/db/system-roles.js';

export interface ScaleSizes {
  organizations: number;
  /** Seeded users in all, `tenantUsers` of them in the benchmark's organization. */
  users: number;
  tenantUsers: number;
  sessions: number;
  auditRows: number;
}

export interface Seeding {
  seconds: number;
  /** Seconds per step; the audit rows load beside the other tables, so steps overlap. */
  steps: Record<string, number>;
  /** Rows per table after seeding, the benchmark's own included. */
  rows: Record<string, number>;
  databaseMb: number;
}

/** One user in this many is in the benchmark's organization. */
const TENANT_SHARE = 100;

/** The issue's sizes times `factor`: 10,000 organizations, a million users, 2 million sessions, 5 million audit rows. */
export function scaleSizes(factor: number): ScaleSizes {
  const of = (full: number) => Math.max(1, Math.round(full * factor));
  const users = of(1_000_000);
  return { organizations: of(10_000), users, tenantUsers: Math.floor(users / TENANT_SHARE), sessions: of(2_000_000), auditRows: of(5_000_000) };
}

const TEAMS_PER_ORGANIZATION = 3;
const USER_AGENTS = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15', 'okhttp/4.12.0'];

/** SQL functions of the seeding connection only (pg_temp): nothing is left in the service's schema. */
function helpers(sizes: ScaleSizes, tenantId: string): string[] {
  if (!/^[0-9a-f-]{36}$/.test(tenantId)) throw new Error(`not a uuid: ${tenantId}`);
  return [
    // A v4-shaped uuid from a row's kind and number. (n::text, not n: text || bigint is only stable, and
    // PostgreSQL inlines an immutable function only if its body is immutable too.)
    `create function pg_temp.seed_id(kind text, n bigint) returns uuid language sql immutable
       as $$ select overlay(overlay(md5(kind || ':' || n::text) placing '4' from 13) placing '8' from 17)::uuid $$`,
    // User n's organization: 0 (the benchmark's) for every TENANT_SHARE-th, else a pseudo-random one of
    // 1..organizations. Every organization's users are spread over the table, as users who signed
    // up over years are: a list that reads their rows visits as many pages as it would in production.
    `create function pg_temp.organization_of(n bigint) returns bigint language sql immutable
       as $$ select case when n % ${TENANT_SHARE} = 0 then 0 else 1 + (hashint8(n) & 2147483647) % ${sizes.organizations} end $$`,
    `create function pg_temp.organization_id(o bigint) returns uuid language sql immutable
       as $$ select case when o = 0 then '${tenantId}'::uuid else pg_temp.seed_id('organization', o) end $$`,
    // A number fixed for user n that picks its traits (role, SSO, deactivated...) independently of its organization.
    `create function pg_temp.draw(n bigint) returns integer language sql immutable
       as $$ select hashint8(-n) & 2147483647 $$`,
  ];
}

const organizationsSql = (sizes: ScaleSizes) => `
  insert into organizations (id, name, slug, plan, contact_email, max_users, max_teams, created_at, updated_at)
  select pg_temp.organization_id(o), 'Seeded Organization ' || o, 'seeded-organization-' || o,
         (array['trial', 'starter', 'professional', 'enterprise'])[1 + o % 4], 'owner@org' || o || '.seed.example',
         500, 10, created, created + (now() - created) * random()
  from (select o, now() - random() * interval '3 years' as created from generate_series(1, ${sizes.organizations}) o) g`;

const teamsSql = (sizes: ScaleSizes) => `
  insert into teams (id, organization_id, name, slug, created_at, updated_at)
  select pg_temp.seed_id('team', o * ${TEAMS_PER_ORGANIZATION} + k), pg_temp.organization_id(o),
         'Seeded Team ' || k, 'seeded-team-' || k, created, created
  from (select o, k, now() - random() * interval '2 years' as created
        from generate_series(0, ${sizes.organizations}) o, generate_series(0, ${TEAMS_PER_ORGANIZATION - 1}) k) g`;

// One in 20 users is SSO-only (no password), one in 50 deactivated, one in 100 deleted; the rest
// share one real argon2id hash ($1), so any of them can log in.
const usersSql = (sizes: ScaleSizes) => `
  insert into users (id, organization_id, team_id, email, full_name, password_hash, is_active, is_verified,
                     sso_provider, sso_subject_id, last_login_at, password_changed_at, created_at, updated_at, deleted_at)
  select pg_temp.seed_id('user', n), pg_temp.organization_id(o),
         case when d % 10 < 7 then pg_temp.seed_id('team', o * ${TEAMS_PER_ORGANIZATION} + n % ${TEAMS_PER_ORGANIZATION}) end,
         'user' || n || '@org' || o || '.seed.example', 'Seeded User ' || n,
         case when sso then null else $1 end, d % 50 <> 0, d % 10 <> 0,
         case when sso then 'saml' end, case when sso then 'subject-' || n end,
         case when d % 5 <> 0 then created + (now() - created) * random() end,
         case when not sso then created end,
         created, created, case when d % 100 = 99 then now() - random() * interval '60 days' end
  from (select n, pg_temp.organization_of(n) as o, pg_temp.draw(n) as d, pg_temp.draw(n) % 20 = 19 as sso,
               now() - interval '60 days' - random() * interval '2 years' as created
        from generate_series(1, ${sizes.users}) n) g`;

const userRolesSql = (sizes: ScaleSizes) => `
  insert into user_roles (user_id, role_id, assigned_at)
  select pg_temp.seed_id('user', n),
         case when d % 20 = 0 then '${SYSTEM_ROLE_IDS.admin}'::uuid when d % 20 < 4 then '${SYSTEM_ROLE_IDS.viewer}'::uuid else '${SYSTEM_ROLE_IDS.member}'::uuid end,
         now() - interval '60 days' - random() * interval '1 year'
  from (select n, pg_temp.draw(n) as d from generate_series(1, ${sizes.users}) n) g`;

// Half live (seen within the refresh lifetime of 7 days), three in ten expired and two in ten
// revoked within the last week: what the retention job (SESSION_RETENTION_DAYS=7) leaves. Each
// session has its current refresh token; every other one also the used token it was rotated from.
const sessionsSql = (sizes: ScaleSizes) => `
  with seeded as (
    insert into sessions (user_id, auth_method, ip_address, user_agent, created_at, last_seen_at, expires_at, revoked_at, revoked_reason)
    select pg_temp.seed_id('user', 1 + floor(random() * ${sizes.users})::bigint),
           case when j % 8 = 0 then 'saml' else 'password' end,
           ('10.' || (j >> 16) % 256 || '.' || (j >> 8) % 256 || '.' || j % 256)::inet,
           (array[${USER_AGENTS.map((agent) => `'${agent}'`).join(', ')}])[1 + j % ${USER_AGENTS.length}],
           seen - random() * interval '90 days', seen, seen + interval '7 days',
           case when state >= 8 then seen + random() * (now() - seen) end,
           case when state >= 8 then (array['logout', 'password_changed', 'user_deactivated'])[1 + j % 3] end
    from (select j, j % 10 as state,
                 case when j % 10 between 5 and 7 then now() - interval '7 days' - random() * interval '7 days'
                      else now() - random() * interval '7 days' end as seen
          from generate_series(1, ${sizes.sessions}) j) g
    returning id, created_at, last_seen_at, expires_at
  )
  insert into refresh_tokens (session_id, token_hash, created_at, expires_at, used_at)
  select id, encode(sha256(convert_to(id::text, 'UTF8')), 'hex'), last_seen_at, expires_at, null from seeded
  union all
  select id, encode(sha256(convert_to(id::text || ':rotated', 'UTF8')), 'hex'), created_at, expires_at, last_seen_at
  from seeded where get_byte(uuid_send(id), 15) % 2 = 0`;

// 20 slots of events, weighted by how often each happens: half are password logins. Anonymous
// rows (failed logins to unknown emails) have no organization or actor.
const AUDIT_EVENTS = `(values
  (0, 'auth.login', 'success', null, '{"method":"password"}', false), (1, 'auth.login', 'success', null, '{"method":"password"}', false),
  (2, 'auth.login', 'success', null, '{"method":"password"}', false), (3, 'auth.login', 'success', null, '{"method":"password"}', false),
  (4, 'auth.login', 'success', null, '{"method":"password"}', false), (5, 'auth.login', 'success', null, '{"method":"password"}', false),
  (6, 'auth.login', 'success', null, '{"method":"password"}', false), (7, 'auth.login', 'success', null, '{"method":"password"}', false),
  (8, 'auth.login', 'success', null, '{"method":"password"}', false), (9, 'auth.login', 'success', null, '{"method":"password"}', false),
  (10, 'auth.login', 'failure', null, '{"reason":"wrong_password"}', false), (11, 'auth.login', 'failure', null, '{"reason":"unknown_email"}', true),
  (12, 'auth.sso_login', 'success', null, '{"method":"saml"}', false), (13, 'auth.logout', 'success', 'session', '{}', false),
  (14, 'auth.logout', 'success', 'session', '{}', false), (15, 'user.update', 'success', 'user', '{"changed":["fullName"]}', false),
  (16, 'user.create', 'success', 'user', '{"roles":["Member"],"sso_only":false}', false), (17, 'team.update', 'success', 'team', '{"changed":["name"]}', false),
  (18, 'permission.denied', 'denied', null, '{"permission":"users:update"}', false), (19, 'auth.password_change', 'success', 'user', '{}', false)
) e(slot, event_type, status, resource_type, context, anonymous)`;

// Spread evenly over the last 180 days; the actor is a random user, the organization theirs.
const auditSql = (sizes: ScaleSizes) => `
  insert into audit_logs (organization_id, actor_user_id, event_type, resource_type, resource_id, status, ip_address, user_agent, request_id, context, created_at)
  select case when not e.anonymous then pg_temp.organization_id(pg_temp.organization_of(a.n)) end,
         case when not e.anonymous then pg_temp.seed_id('user', a.n) end,
         e.event_type, e.resource_type,
         case e.resource_type when 'user' then pg_temp.seed_id('user', a.n)::text
                              when 'team' then pg_temp.seed_id('team', pg_temp.organization_of(a.n) * ${TEAMS_PER_ORGANIZATION} + a.k % ${TEAMS_PER_ORGANIZATION})::text
                              when 'session' then gen_random_uuid()::text end,
         e.status, ('10.' || (a.k >> 16) % 256 || '.' || (a.k >> 8) % 256 || '.' || a.k % 256)::inet,
         (array[${USER_AGENTS.map((agent) => `'${agent}'`).join(', ')}])[1 + a.k % ${USER_AGENTS.length}],
         'seed-' || a.k, e.context::jsonb, a.created
  from (select k, 1 + floor(random() * ${sizes.users})::bigint as n, now() - random() * interval '180 days' as created
        from generate_series(1, ${sizes.auditRows}) k) a
  join ${AUDIT_EVENTS} on e.slot = a.k % 20`;

const TABLES = ['organizations', 'teams', 'users', 'user_roles', 'sessions', 'refresh_tokens', 'audit_logs'] as const;

type Step = (name: string, work: () => Promise<unknown>) => Promise<void>;

/**
 * Loads tables without their indexes, then builds those again from their own definitions: one
 * sort per index instead of millions of inserts at random places in it, through a shared buffer
 * pool far smaller than the indexes (with them in place, a full-size seed had loaded half its
 * audit rows after 10 minutes). A key that a foreign key references stays, so references are
 * checked as rows arrive; the other keys and unique indexes are checked when built again.
 */
async function loadWithoutIndexes(sql: postgres.Sql, tables: string[], step: Step, name: string, load: () => Promise<unknown>): Promise<void> {
  const keys = await sql<{ table: string; name: string; definition: string }[]>`
    select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    where c.conrelid = any (${tables.map((table) => `public.${table}`)}::regclass[]) and c.contype in ('p', 'u')
      and not exists (select from pg_constraint f where f.contype = 'f' and f.conindid = c.conindid)`;
  const indexes = await sql<{ name: string; definition: string }[]>`
    select indexname as name, indexdef as definition from pg_indexes
    where schemaname = 'public' and tablename in ${sql(tables)}
      and indexname not in (select conname from pg_constraint where contype in ('p', 'u'))`;
  for (const key of keys) await sql.unsafe(`alter table ${key.table} drop constraint "${key.name}"`);
  for (const index of indexes) await sql.unsafe(`drop index "${index.name}"`);
  await step(name, load);
  await step(`${name}: indexes`, async () => {
    for (const key of keys) await sql.unsafe(`alter table ${key.table} add constraint "${key.name}" ${key.definition}`);
    for (const index of indexes) await sql.unsafe(index.definition);
  });
}

/** Seeds `sizes` into the database, beside the benchmark's organization `tenantId`; answers what it took. */
export async function seedAtScale(databaseUrl: string, sizes: ScaleSizes, tenantId: string): Promise<Seeding> {
  // Room to sort an index of millions of rows in memory.
  const open = () => postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { maintenance_work_mem: '256MB' } });
  const [main, side] = [open(), open()];
  const steps: Record<string, number> = {};
  const step: Step = async (name, work) => {
    const started = performance.now();
    await work();
    steps[name] = (performance.now() - started) / 1000;
  };
  const started = performance.now();
  try {
    for (const sql of [main, side]) for (const statement of helpers(sizes, tenantId)) await sql.unsafe(statement);
    const [member] = await main<{ hash: string }[]>`select password_hash as hash from users where organization_id = ${tenantId} and password_hash is not null limit 1`;
    if (!member) throw new Error('the benchmark organization has no user with a password to copy the hash of');
    await Promise.all([
      loadWithoutIndexes(side, ['audit_logs'], step, 'audit_logs', () => side.unsafe(auditSql(sizes))),
      (async () => {
        await step('organizations', () => main.unsafe(organizationsSql(sizes)));
        await step('teams', () => main.unsafe(teamsSql(sizes)));
        await loadWithoutIndexes(main, ['users'], step, 'users', () => main.unsafe(usersSql(sizes), [member.hash]));
        await main`update organizations set max_users = max_users + ${sizes.tenantUsers} where id = ${tenantId}`;
        await loadWithoutIndexes(main, ['user_roles'], step, 'user_roles', () => main.unsafe(userRolesSql(sizes)));
        await loadWithoutIndexes(main, ['sessions', 'refresh_tokens'], step, 'sessions and refresh_tokens', () => main.unsafe(sessionsSql(sizes)));
      })(),
    ]);
    // VACUUM leaves the tables as autovacuum would after months: the visibility map set, so counts
    // can be index-only, and statistics current. Only once both loads are done: a statement still
    // running on the other connection would keep its rows from counting as visible to all. It also
    // keeps autovacuum from starting during the measurements.
    await Promise.all([
      step('vacuum (analyze) audit_logs', () => side`vacuum (analyze) audit_logs`),
      step('vacuum (analyze) the rest', () => main.unsafe(`vacuum (analyze) ${TABLES.filter((table) => table !== 'audit_logs').join(', ')}`)),
    ]);
    // Written now rather than by a checkpoint in the middle of the measurements.
    await step('checkpoint', () => main`checkpoint`);
    const seconds = (performance.now() - started) / 1000;
    const rows: Record<string, number> = {};
    for (const table of TABLES) rows[table] = Number((await main.unsafe(`select count(*) as n from ${table}`))[0]?.n);
    const [size] = await main<{ bytes: string }[]>`select pg_database_size(current_database()) as bytes`;
    return { seconds, steps, rows, databaseMb: Number(size?.bytes) / 1e6 };
  } finally {
    await Promise.all([main.end(), side.end()]);
  }
}
