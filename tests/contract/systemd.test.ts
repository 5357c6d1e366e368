import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runCommand } from '../helpers/commands.js';

// systemd-analyze comes with Debian's systemd package (apt-get install systemd).
const ROOT = new URL('../../', import.meta.url).pathname;
const UNIT = readFileSync(join(ROOT, 'deploy/systemd/fm-auth.service'), 'utf8');
const ENV_EXAMPLE = readFileSync(join(ROOT, 'deploy/systemd/fm-auth.env.example'), 'utf8');
/** What node itself reads from the unit's environment, not src/config. */
const NODE_VARIABLES = new Set(['NODE_ENV', 'UV_THREADPOOL_SIZE']);

/** The values of one directive, in order (a directive may repeat). */
const directive = (name: string) => [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((match) => match[1] as string);
/** NAME=value pairs of the Environment= lines. */
const environment = () => Object.fromEntries(directive('Environment').flatMap((line) => line.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])));
const envFile = () =>
  Object.fromEntries(
    ENV_EXAMPLE.split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

function configVariables(): Set<string> {
  const names = [...readFileSync(join(ROOT, 'src/config/index.ts'), 'utf8').matchAll(/read\('([A-Z_]+)'\)/g)].map((match) => match[1] as string);
  return new Set(names.flatMap((name) => [name, `${name}_FILE`]));
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fm-auth-systemd-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * systemd-analyze verify on a copy whose node is the one running this test (the unit names
 * /usr/bin/node, which verify requires to exist): every other line is checked as written.
 */
async function verify(unit: string): Promise<string> {
  const file = join(work, 'fm-auth.service');
  writeFileSync(file, unit.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  const result = await runCommand('systemd-analyze', ['verify', file]);
  return `${result.stdout}${result.stderr}${result.status === 0 ? '' : `exit ${result.status}`}`;
}

describe('deploy/systemd/fm-auth.service', () => {
  it('passes systemd-analyze verify with no complaint', async () => {
    expect(directive('ExecStart')).toEqual(['/usr/bin/node /opt/fm-auth/dist/main.js']);
    expect(await verify(UNIT)).toBe('');
  });

  it('verify does complain about a broken copy (so a pass means something)', async () => {
    const broken = UNIT.replace('Restart=on-failure', 'Restart=sometimes').replace('ProtectSystem=strict', 'ProtecSystem=strict');
    const output = await verify(broken);
    expect(output).toMatch(/restart specifier/);
    expect(output).toMatch(/Unknown key 'ProtecSystem'/);
    expect(await verify(UNIT.replace(/^ExecStart=\/usr\/bin\/node /m, 'ExecStart=/nonexistent/node '))).toMatch(/not executable/);
  });

  it('is hardened: systemd-analyze security rates its exposure 2.0 or lower ("OK")', async () => {
    const file = join(work, 'fm-auth.service');
    writeFileSync(file, UNIT);
    const result = await runCommand('systemd-analyze', ['security', '--offline=true', '--no-pager', file]);
    const exposure = /Overall exposure level for fm-auth\.service: (\d+\.\d+)/.exec(result.stdout);
    expect(exposure, result.stdout + result.stderr).not.toBeNull();
    expect(Number(exposure?.[1])).toBeLessThanOrEqual(2.0);
    for (const setting of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'KillSignal=SIGTERM', 'Restart=on-failure']) {
      expect(UNIT).toMatch(new RegExp(`^${setting}$`, 'm'));
    }
    expect(Number(directive('TimeoutStopSec')[0]) * 1000).toBeGreaterThan(Number(envFile().SHUTDOWN_TIMEOUT_MS));
  });

  it('runs as a dedicated user with the settings file, and hands every secret over as a credential file', () => {
    expect(directive('User')).toEqual(['fm-auth']);
    expect(directive('EnvironmentFile')).toEqual(['/etc/fm-auth/fm-auth.env']);
    const credentials = directive('LoadCredential').map((line) => line.split(':')[0]);
    const files = Object.entries(environment()).filter(([name]) => name.endsWith('_FILE'));
    expect(files.map(([, value]) => value).sort()).toEqual(credentials.map((name) => `%d/${name}`).sort());
    // The names scripts/generate_secrets.sh writes, less db_password (PostgreSQL's, not the service's).
    expect(credentials.sort()).toEqual(['database_url', 'jwt_secret_key', 'metrics_token', 'saml_sp_cert', 'saml_sp_private_key', 'sso_encryption_key']);
  });

  it('names only variables src/config reads (besides node’s own), in the unit and the env file', () => {
    const known = configVariables();
    const named = [...Object.keys(environment()), ...Object.keys(envFile())];
    expect(named.filter((name) => !known.has(name) && !NODE_VARIABLES.has(name))).toEqual([]);
  });

  it('is a valid production configuration once the env file is filled in and the credentials generated', async () => {
    const credentials = join(work, 'credentials');
    const generated = await runCommand('bash', ['scripts/generate_secrets.sh', '--dir', credentials]);
    expect(generated.status, generated.stderr).toBe(0);
    const files = Object.fromEntries(Object.entries(environment()).map(([name, value]) => [name, value.replace('%d', credentials)]));
    expect(() => loadConfig({ ...envFile(), ...files })).toThrow(/CHANGE_ME/);
    const filledIn = Object.fromEntries(Object.entries(envFile()).map(([name, value]) => [name, value.replace('CHANGE_ME', 'auth')]));
    const config = loadConfig({ ...filledIn, ...files });
    expect(config.environment).toBe('production');
    expect(config.port).toBe(8000);
  });
});
