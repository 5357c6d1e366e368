import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCommand } from '../helpers/commands.js';
import { IMAGE, callApi, RUN_ID, allHealthy, compose, type ComposeProject, inspect, podman, podmanResult, serviceContainers } from './engine.js';
import { freePort } from '../helpers/ports.js';

// The API port both compose files publish by default.
const API = 'http://127.0.0.1:8000';
const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-compose-'));
const projects: ComposeProject[] = [];

afterAll(async () => {
  for (const project of projects) await compose(project, ['down', '-v', '--remove-orphans']).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

async function up(project: ComposeProject): Promise<Record<string, string>> {
  await compose(project, ['up', '-d', '--no-build']);
  const containers = await serviceContainers(project.name);
  expect(Object.keys(containers).sort()).toEqual(['auth-service', 'postgres', 'redis']);
  await allHealthy(Object.values(containers));
  return containers;
}

async function volumesOf(project: ComposeProject): Promise<string[]> {
  return (await podman(['volume', 'ls', '--format', '{{.Name}}'])).split('\n').filter((name) => name.startsWith(`${project.name}_`));
}

describe('docker-compose.yml (development)', () => {
  const envFile = join(scratch, 'dev.env');
  const project: ComposeProject = { name: `${RUN_ID}dev`, file: join(ROOT, 'docker-compose.yml'), env: { FM_AUTH_IMAGE: IMAGE }, envFile };
  projects.push(project);
  const credentials = { email: 'compose.dev@example.com', password: 'a long passphrase for compose' };

  it('comes up healthy, answers on 8000, PostgreSQL published on the port its .env names', async () => {
    // This machine's own PostgreSQL holds 5432: the .env file moves the container's elsewhere.
    const postgresPort = await freePort();
    writeFileSync(envFile, `POSTGRES_PORT=${postgresPort}\nLOG_LEVEL=debug\n`);
    const containers = await up(project);
    expect(await podman(['port', containers.postgres as string, '5432'])).toBe(`127.0.0.1:${postgresPort}`);
    const env = await inspect<string[]>(containers['auth-service'] as string, '.Config.Env');
    expect(env).toContain('LOG_LEVEL=debug');
    expect(env).toContain('REDIS_URL=redis://redis:6379');
    expect((await fetch(`${API}/health/ready`)).status).toBe(200);
    expect((await callApi(API, 'POST', '/auth/register', { ...credentials, full_name: 'Compose Dev', organization_name: 'Compose Co' })).status).toBe(201);
  });

  it('keeps its data across down and up (a named volume)', async () => {
    await compose(project, ['down']);
    expect(await volumesOf(project)).toEqual([`${project.name}_postgres-data`]);
    await up(project);
    const login = await callApi(API, 'POST', '/auth/login', credentials);
    expect(login.status).toBe(200);
    expect((await callApi(API, 'GET', '/auth/me', undefined, login.body.access_token)).body.email).toBe(credentials.email);
  });

  it('down -v removes its containers, network and volume', async () => {
    await compose(project, ['down', '-v']);
    expect(await serviceContainers(project.name)).toEqual({});
    expect(await volumesOf(project)).toEqual([]);
    const networks = (await podman(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
    expect(networks.filter((name) => name.startsWith(project.name))).toEqual([]);
  });
});

describe('docker-compose.prod.yml (production, secrets from scripts/generate_secrets.sh)', () => {
  // The operator's directory: the unmodified compose file, .env.production with its non-secret
  // CHANGE_MEs filled in, and ./secrets made by the script.
  const directory = join(scratch, 'production');
  const project: ComposeProject = { name: `${RUN_ID}prod`, file: join(directory, 'docker-compose.prod.yml'), env: { FM_AUTH_IMAGE: IMAGE }, envFile: join(directory, '.env') };
  projects.push(project);
  const secret = (name: string) => readFileSync(join(directory, 'secrets', name), 'utf8');
  let containers: Record<string, string> = {};

  it('comes up healthy with every secret read from its file', async () => {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    copyFileSync(join(ROOT, 'docker-compose.prod.yml'), project.file);
    writeFileSync(join(directory, '.env.production'), readFileSync(join(ROOT, '.env.production'), 'utf8').replaceAll('CHANGE_ME.example.com', 'auth.compose.test'));
    writeFileSync(project.envFile, '');
    // The stand-in postgres image reads its password file after dropping to its own user (the
    // official one reads it as root): the script's --database-owner is for exactly such images.
    const postgresUid = await podman(['run', '--rm', '--entrypoint', 'id', 'postgres:15', '-u', 'postgres']);
    const generated = await runCommand(join(ROOT, 'scripts/generate_secrets.sh'), ['--dir', join(directory, 'secrets'), '--database-owner', postgresUid]);
    expect(generated.status, generated.stderr).toBe(0);
    containers = await up(project);

    const env = await inspect<string[]>(containers['auth-service'] as string, '.Config.Env');
    expect(env).toEqual(
      expect.arrayContaining(['JWT_SECRET_KEY=', 'JWT_SECRET_KEY_FILE=/run/secrets/jwt_secret_key', 'DATABASE_URL=', 'DATABASE_URL_FILE=/run/secrets/database_url']),
    );
    for (const name of ['jwt_secret_key', 'db_password', 'metrics_token', 'sso_encryption_key']) expect(env.join('\n')).not.toContain(secret(name));
    expect((await fetch(`${API}/health/ready`)).status).toBe(200);

    // Sign-up is closed in production: the super-admin comes from the admin CLI inside the image.
    const email = 'ops@compose.test';
    const password = 'a long passphrase for production';
    await podman(['exec', '-i', containers['auth-service'] as string, '/nodejs/bin/node', 'dist/cli/admin.js', 'create-superadmin', '--email', email], password);
    const login = await callApi(API, 'POST', '/auth/login', { email, password });
    expect(login.status).toBe(200);
    expect((await callApi(API, 'GET', '/auth/me', undefined, login.body.access_token)).body.email).toBe(email);
    // The login's rate-limit counters live in the shared Redis.
    const keys = await podman(['exec', containers.redis as string, 'redis-cli', '--scan', '--pattern', 'fm-auth:*']);
    expect(keys).toMatch(/^fm-auth:/m);
    expect(await podman(['logs', containers['auth-service'] as string])).not.toMatch(/redis unavailable/);
  });

  it('runs every service on a read-only root file system', async () => {
    for (const id of Object.values(containers)) expect(await inspect<boolean>(id, '.HostConfig.ReadonlyRootfs')).toBe(true);
    const write = await podmanResult(['exec', containers['auth-service'] as string, '/nodejs/bin/node', '-e', "require('fs').writeFileSync('/app/dist/tampered.js', '')"]);
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS/);
  });

  it('protects /metrics with the metrics token and publishes no database port', async () => {
    expect((await fetch(`${API}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${API}/metrics`, { headers: { authorization: `Bearer ${secret('metrics_token')}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^http_requests_total/m);
    expect((await podmanResult(['port', containers.postgres as string])).stdout.trim()).toBe('');
    expect((await podmanResult(['port', containers.redis as string])).stdout.trim()).toBe('');
  });

  it('stops cleanly and down -v leaves nothing behind', async () => {
    await compose(project, ['down', '-v']);
    expect(await serviceContainers(project.name)).toEqual({});
    expect(await volumesOf(project)).toEqual([]);
  });
});
