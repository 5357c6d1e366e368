import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runCommand } from '../helpers/commands.js';

// What docker-compose.prod.yml reads from ./secrets/.
const SECRET_FILES = ['database_url', 'db_password', 'jwt_secret_key', 'metrics_token', 'saml_sp_cert', 'saml_sp_private_key', 'sso_encryption_key'];

const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-secrets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(scratch, `secrets-${++dirs}`);

const generate = (...args: string[]) => runCommand('scripts/generate_secrets.sh', args);
const mode = (path: string) => statSync(path).mode & 0o777;
const valuesIn = (dir: string) => SECRET_FILES.map((name) => readFileSync(join(dir, name), 'utf8'));
/** What output must never contain: the value, or for a PEM its first line of base64. */
const telltale = (value: string) => (value.includes('\n') ? (value.split('\n')[1] as string) : value);

/** A directory of freshly generated secrets. */
async function generated(): Promise<string> {
  const dir = freshDir();
  const result = await generate('--dir', dir);
  expect(result.status, result.stderr).toBe(0);
  return dir;
}

describe('scripts/generate_secrets.sh', () => {
  it('writes the seven secret files, 0600 in a 0700 directory, without printing a secret', async () => {
    const dir = freshDir();
    const result = await generate('--dir', dir);
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(SECRET_FILES);
    expect(mode(dir)).toBe(0o700);
    for (const name of SECRET_FILES) expect(mode(join(dir, name)), name).toBe(0o600);
    const printed = result.stdout + result.stderr;
    for (const value of valuesIn(dir)) expect(printed).not.toContain(telltale(value));
    const password = readFileSync(join(dir, 'db_password'), 'utf8');
    expect(readFileSync(join(dir, 'database_url'), 'utf8')).toBe(`postgres://fm_auth:${password}@db:5432/fm_auth`);
  });

  it('generates values the service accepts in production', async () => {
    const dir = await generated();
    const config = loadConfig({
      ENVIRONMENT: 'production',
      PUBLIC_URL: 'https://auth.fm-auth.test',
      DATABASE_URL_FILE: join(dir, 'database_url'),
      JWT_SECRET_KEY_FILE: join(dir, 'jwt_secret_key'),
      SSO_ENCRYPTION_KEY_FILE: join(dir, 'sso_encryption_key'),
      METRICS_TOKEN_FILE: join(dir, 'metrics_token'),
      SAML_SP_PRIVATE_KEY_FILE: join(dir, 'saml_sp_private_key'),
      SAML_SP_CERT_FILE: join(dir, 'saml_sp_cert'),
    });
    expect(config.jwt.keys).toMatchObject({ kind: 'hmac', secretKey: readFileSync(join(dir, 'jwt_secret_key'), 'utf8') });
    expect(config.ssoEncryptionKey).toHaveLength(32);
    expect(config.saml.signing).not.toBeNull();
    expect(config.database.url).toMatch(/^postgres:\/\/fm_auth:[0-9a-f]{48}@db:5432\/fm_auth$/);
  });

  it('refuses to overwrite an existing secret without --force, naming it, and writes nothing', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'jwt_secret_key'), 'the key in use');
    const result = await generate('--dir', dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(join(dir, 'jwt_secret_key'));
    expect(result.stderr).toMatch(/--force/);
    expect(readdirSync(dir)).toEqual(['jwt_secret_key']);
    expect(readFileSync(join(dir, 'jwt_secret_key'), 'utf8')).toBe('the key in use');
  });

  it('replaces every secret with --force', async () => {
    const dir = await generated();
    const before = valuesIn(dir);
    const result = await generate('--dir', dir, '--force');
    expect(result.status, result.stderr).toBe(0);
    const after = valuesIn(dir);
    after.forEach((value, index) => expect(value, SECRET_FILES[index]).not.toBe(before[index]));
    for (const name of SECRET_FILES) expect(mode(join(dir, name)), name).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(SECRET_FILES);
  });

  it('explains itself with --help and refuses unknown arguments', async () => {
    const help = await generate('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: scripts\/generate_secrets\.sh/);
    for (const name of SECRET_FILES) expect(help.stdout).toContain(name);
    const unknown = await generate('--dri', freshDir());
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown argument: --dri/);
  });
});

describe('.gitignore', () => {
  it('keeps ./secrets/ out of git', async () => {
    const ignored = await runCommand('git', ['check-ignore', '--no-index', '-q', 'secrets/jwt_secret_key']);
    expect(ignored.status).toBe(0);
  });
});
