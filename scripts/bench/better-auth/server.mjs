// Better Auth 1.7 with its organization plugin on PostgreSQL (a pg pool), served by node:http as
// its docs show: the library teams would pick instead of fm-auth, for a side-by-side benchmark of
// its get-session against GET /auth/me (scripts/bench.ts --better-auth).
import http from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { organization } from 'better-auth/plugins';
import pg from 'pg';

const port = Number(process.env.BENCH_PORT);
const auth = betterAuth({
  database: new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 }),
  baseURL: `http://127.0.0.1:${port}`,
  secret: 'benchmark-only-better-auth-secret-0123456789',
  emailAndPassword: { enabled: true },
  plugins: [organization()],
  telemetry: { enabled: false },
  rateLimit: { enabled: false },
  // Off: every get-session reads the session from the database, as GET /auth/me does; on: a signed
  // cookie answers for up to 5 minutes, which a revocation does not reach.
  session: { cookieCache: { enabled: process.env.BENCH_COOKIE_CACHE === 'true', maxAge: 300 } },
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
http.createServer(toNodeHandler(auth)).listen(port, '127.0.0.1');
