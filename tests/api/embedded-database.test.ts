import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API, STRONG_PASSWORD, uniqueEmail } from '../helpers/fixtures.js';

const dataDir = mkdtempSync(join(tmpdir(), 'fm-auth-pglite-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `npm start`'s entry point without DATABASE_URL and waits for its listening line. */
function startEmbedded(): Promise<{ baseUrl: string; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ENVIRONMENT: 'development' };
  delete env.DATABASE_URL;
  delete env.JWT_SECRET_KEY;
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve({ baseUrl: `http://127.0.0.1:${match[1]}`, output: () => output });
    };
    child?.stdout?.on('data', onData);
    child?.stderr?.on('data', onData);
    child?.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
}

describe('embedded database (no DATABASE_URL)', () => {
  it('migrates PGlite at start-up and serves register → login → me', { timeout: 90_000 }, async () => {
    const { baseUrl, output } = await startEmbedded();
    expect(output()).toMatch(/embedded PostgreSQL \(PGlite\)/);
    const post = (path: string, body: unknown) =>
      fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const email = uniqueEmail('embedded');
    const registered = await post(`${API}/auth/register`, { email, password: STRONG_PASSWORD, full_name: 'Em Bedded', organization_name: 'Embedded Co' });
    expect(registered.status).toBe(201);
    const login = await post(`${API}/auth/login`, { email, password: STRONG_PASSWORD });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };
    const me = await fetch(`${baseUrl}${API}/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email, roles: [{ name: 'Admin' }] });
  });
});
