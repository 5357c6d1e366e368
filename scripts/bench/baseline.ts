/**
 * The bare baseline of `npm run bench`: what GET /auth/me must do at the least, on node:http with
 * no framework, validation, logging or metrics: verify the JWT (jose, the same key and claims),
 * load the live session and its user by primary key in one query, serialize. Started by the
 * benchmark with BENCH_DATABASE_URL, BENCH_JWT_SECRET and BENCH_PORT; prints "ready" when listening.
 */
import { createSecretKey } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import postgres from 'postgres';

const sql = postgres(process.env.BENCH_DATABASE_URL as string, { max: 10, onnotice: () => {} });
const key = createSecretKey(Buffer.from(process.env.BENCH_JWT_SECRET as string, 'utf8'));

async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new Error('no bearer');
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: 'fm-auth', audience: 'fm-auth-api' });
    const [user] = await sql`
      select u.id, u.email, u.full_name, u.organization_id, u.team_id, u.is_active, u.is_verified, u.sso_provider
      from sessions s join users u on u.id = s.user_id
      where s.id = ${payload.sid as string} and u.id = ${payload.sub as string} and s.revoked_at is null and s.expires_at > now() and u.deleted_at is null`;
    if (!user) throw new Error('no session');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(user));
  } catch {
    response.writeHead(401, { 'content-type': 'application/problem+json' }).end('{"status":401}');
  }
}

// answer() catches every failure itself, so its promise never rejects.
const server = createServer((request, response) => void answer(request, response));
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () => console.log('ready'));
process.once('SIGTERM', () => server.close(() => void sql.end().then(() => process.exit(0))));
