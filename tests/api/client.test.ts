import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../scripts/build-client.js';
import { type Account, expectProblem, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

let server: TestServer;
let account: Account;
beforeAll(async () => {
  server = await startServer();
  account = await registerOrganization(server);
});
afterAll(async () => {
  await server.close();
});

/** The pair with its access token re-signed by our key as expired an hour ago: what a client holds after a long idle. */
function withExpiredAccessToken(tokens: Tokens): Tokens {
  const claims = jwt.decode(tokens.access_token) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  return { ...tokens, access_token: jwt.sign({ ...claims, iat: now - 7200, exp: now - 3600 }, TEST_JWT_SECRET, { algorithm: 'HS256' }) };
}

describe('fm-auth/client', () => {
  it('sends the held access token as the bearer', async () => {
    const client = server.client();
    expect((await client.login({ email: account.email, password: account.password })).response.status).toBe(200);
    const me = await client.api.GET('/api/v1/enterprise/auth/me');
    expect(me.data?.email).toBe(account.email);
  });

  it('refreshes an expired access token once, rotating the refresh token, and retries the request', async () => {
    const stale = withExpiredAccessToken(await login(server, account));
    const client = server.client(stale);
    const answers = await Promise.all([1, 2, 3].map(() => client.api.GET('/api/v1/enterprise/auth/me')));
    expect(answers.map((answer) => answer.response.status)).toEqual([200, 200, 200]);
    const rotated = client.tokens();
    expect(rotated?.refresh_token).not.toBe(stale.refresh_token);
    // One refresh for the three requests: a second use of the old refresh token would have revoked the session.
    expect((await client.api.GET('/api/v1/enterprise/auth/me')).response.status).toBe(200);
    expectProblem(await server.client().api.POST('/api/v1/enterprise/auth/refresh', { body: { refresh_token: stale.refresh_token } }), 401, 'refresh_token_invalid');
  });

  it('answers the 401 and forgets the pair when the session is over and the refresh is refused', async () => {
    const tokens = await login(server, account);
    expect((await server.client(tokens).logout()).response.status).toBe(200);
    const client = server.client(withExpiredAccessToken(tokens));
    expectProblem(await client.api.GET('/api/v1/enterprise/auth/me'), 401, 'token_expired');
    expect(client.tokens()).toBeUndefined();
  });

  it('logs out: the session ends on the server and the client holds no pair', async () => {
    const client = server.client();
    await client.login({ email: account.email, password: account.password });
    const held = client.tokens() as Tokens;
    const answer = await client.logout();
    expect(answer.data).toEqual({ message: 'Successfully logged out' });
    expect(client.tokens()).toBeUndefined();
    expectProblem(await server.client(held).api.GET('/api/v1/enterprise/auth/me'), 401, 'session_ended');
  });

  it('is importable as built JavaScript by its package name (Node self-reference through "exports")', async () => {
    const app = mkdtempSync(join(tmpdir(), 'fm-auth-client-'));
    try {
      await buildClient(join(app, 'dist/client'));
      cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
      const script = `
        import { createFmAuthClient } from 'fm-auth/client';
        const client = createFmAuthClient({ baseUrl: process.env.BASE_URL });
        await client.login({ email: process.env.EMAIL, password: process.env.PASSWORD });
        const me = await client.api.GET('/api/v1/enterprise/auth/me');
        const out = await client.logout();
        console.log(JSON.stringify({ email: me.data.email, logout: out.data, held: client.tokens() ?? null }));`;
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', BASE_URL: server.baseUrl, EMAIL: account.email, PASSWORD: account.password },
      });
      expect(JSON.parse(stdout)).toEqual({ email: account.email, logout: { message: 'Successfully logged out' }, held: null });
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
