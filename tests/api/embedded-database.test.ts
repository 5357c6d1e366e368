import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API, STRONG_PASSWORD, uniqueEmail } from '../helpers/fixtures.js';
import { NPM_START_ARGS, type ServiceProcess, spawnService } from '../helpers/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'fm-auth-pglite-'));
let service: ServiceProcess | undefined;

afterAll(async () => {
  service?.signal('SIGTERM');
  await service?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded database (no DATABASE_URL)', () => {
  it('migrates PGlite at start-up and serves register → login → me', { timeout: 90_000 }, async () => {
    service = await spawnService({ DATA_DIR: dataDir, ENVIRONMENT: 'development', DATABASE_URL: undefined, JWT_SECRET_KEY: undefined }, { args: NPM_START_ARGS });
    const { baseUrl } = service;
    expect(service.output()).toMatch(/embedded PostgreSQL \(PGlite\)/);
    const post = (path: string, body: unknown) => fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

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
