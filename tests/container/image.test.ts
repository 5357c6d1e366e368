import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, callApi, eventually, RUN_ID, inspect, podman, podmanResult } from './engine.js';
import { freePort } from '../helpers/ports.js';

const MAX_IMAGE_BYTES = 200_000_000;
const STOP_TIMEOUT_S = 10;
const DATABASE = `${RUN_ID}-image-postgres`;
const SERVICE = `${RUN_ID}-image-auth`;
const NETWORK = `${RUN_ID}-image`;

let baseUrl = '';

beforeAll(async () => {
  await podman(['network', 'create', NETWORK]);
  await podman([
    'run',
    '-d',
    '--name',
    DATABASE,
    '--network',
    NETWORK,
    '-e',
    'POSTGRES_USER=fm_auth',
    '-e',
    'POSTGRES_PASSWORD=image-test',
    '-e',
    'POSTGRES_DB=fm_auth',
    'postgres:15',
  ]);
  const port = await freePort();
  await podman([
    'run',
    '-d',
    '--name',
    SERVICE,
    '--network',
    NETWORK,
    '-p',
    `127.0.0.1:${port}:8000`,
    '-e',
    `DATABASE_URL=postgres://fm_auth:image-test@${DATABASE}:5432/fm_auth`,
    '-e',
    'JWT_SECRET_KEY=container-test-only-jwt-key-0123456789abcdef',
    '-e',
    'ENVIRONMENT=development',
    IMAGE,
  ]);
  baseUrl = `http://127.0.0.1:${port}`;
  // The database comes up while the service starts: the service must wait for it, not crash.
  await waitForReady();
});

afterAll(async () => {
  await podmanResult(['rm', '-f', SERVICE, DATABASE]);
  await podmanResult(['network', 'rm', '-f', NETWORK]);
});

async function waitForReady(): Promise<void> {
  const ready = async () => ((await fetch(`${baseUrl}/health/ready`)).status === 200 ? true : undefined);
  await eventually('the service to be ready', ready).catch(async (error: unknown) => {
    throw new Error(`${(error as Error).message}; its log:\n${await podman(['logs', SERVICE]).catch(String)}`);
  });
}

describe('the image', () => {
  it('is under 200 MB', async () => {
    const bytes = Number(await podman(['image', 'inspect', IMAGE, '--format', '{{.Size}}']));
    console.log(`image size: ${(bytes / 1e6).toFixed(1)} MB`);
    expect(bytes).toBeGreaterThan(50_000_000);
    expect(bytes).toBeLessThan(MAX_IMAGE_BYTES);
  });

  it('runs as a user other than root', async () => {
    expect(await inspect<string>(SERVICE, '.Config.User')).toBe('65532');
    const pid = await inspect<number>(SERVICE, '.State.Pid');
    const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/);
    expect(uids).toEqual(['65532', '65532', '65532', '65532']);
  });

  it('passes its own health check', async () => {
    const result = await podmanResult(['healthcheck', 'run', SERVICE]);
    expect(result.status, result.stderr).toBe(0);
    expect(await inspect<string>(SERVICE, '.State.Health.Status')).toBe('healthy');
  });

  it('migrated the database and serves register → login → me', async () => {
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    const credentials = { email: 'image.admin@example.com', password: 'a long passphrase for the image test' };
    const registered = await callApi(baseUrl, 'POST', '/auth/register', { ...credentials, full_name: 'Image Admin', organization_name: 'Image Co' });
    expect(registered.status).toBe(201);
    const login = await callApi(baseUrl, 'POST', '/auth/login', credentials);
    expect(login.status).toBe(200);
    const me = await callApi(baseUrl, 'GET', '/auth/me', undefined, login.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: credentials.email, organization_id: registered.body.organization_id });
  });

  it('serves its API documentation from the built files', async () => {
    const docs = await fetch(`${baseUrl}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toContain('<redoc');
    expect(((await (await fetch(`${baseUrl}/openapi.json`)).json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
  });

  it('stops on SIGTERM with exit code 0, well within the stop timeout', async () => {
    const started = Date.now();
    await podman(['stop', '--time', String(STOP_TIMEOUT_S), SERVICE]);
    const seconds = (Date.now() - started) / 1000;
    expect(await inspect<number>(SERVICE, '.State.ExitCode')).toBe(0);
    expect(seconds).toBeLessThan(STOP_TIMEOUT_S);
    expect(await podman(['logs', SERVICE])).toMatch(/shutting down[^\n]*SIGTERM[\s\S]*stopped/);
  });
});
