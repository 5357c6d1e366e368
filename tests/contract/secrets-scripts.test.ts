import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
const validate = (dir: string) => runCommand('scripts/validate_secrets.sh', ['--dir', dir]);
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
    // Bind-mounted secrets keep their owner: the image's user 65532 reads the service's, the
    // database (as root) its password. Changing owners needs root, as CI and servers run it.
    if (process.getuid?.() === 0) {
      for (const name of SECRET_FILES) expect(statSync(join(dir, name)).uid, name).toBe(name === 'db_password' ? 0 : 65532);
    }
    const printed = result.stdout + result.stderr;
    for (const value of valuesIn(dir)) expect(printed).not.toContain(telltale(value));
    const password = readFileSync(join(dir, 'db_password'), 'utf8');
    expect(readFileSync(join(dir, 'database_url'), 'utf8')).toBe(`postgres://fm_auth:${password}@postgres:5432/fm_auth`);
  });

  it.runIf(process.getuid?.() === 0)('gives the files to the users named by --owner and --database-owner', async () => {
    const dir = freshDir();
    const result = await generate('--dir', dir, '--owner', '1000', '--database-owner', '1001');
    expect(result.status, result.stderr).toBe(0);
    for (const name of SECRET_FILES) expect(statSync(join(dir, name)).uid, name).toBe(name === 'db_password' ? 1001 : 1000);
    expect((await generate('--dir', freshDir(), '--owner', 'nobody')).status).toBe(2);
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
    expect(config.database.url).toMatch(/^postgres:\/\/fm_auth:[0-9a-f]{48}@postgres:5432\/fm_auth$/);
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

describe('scripts/validate_secrets.sh', () => {
  /** Runs the validator and answers its failure lines. */
  async function failuresOf(dir: string): Promise<string[]> {
    const result = await validate(dir);
    expect(result.status, result.stdout).toBe(1);
    return result.stderr
      .split('\n')
      .filter((line) => line.startsWith('  - '))
      .map((line) => line.slice(4));
  }

  it('passes a generated set, with one OK line per check', async () => {
    const dir = await generated();
    const result = await validate(dir);
    expect(result.status, result.stderr).toBe(0);
    const oks = result.stdout.split('\n').filter((line) => line.startsWith('OK '));
    for (const name of SECRET_FILES) expect(oks).toContain(`OK   ${name} present`);
    expect(oks).toContain('OK   saml_sp_private_key and saml_sp_cert are a matching PEM pair');
    expect(oks).toContain('OK   database_url carries db_password');
    expect(oks.length).toBeGreaterThanOrEqual(20);
    for (const value of valuesIn(dir)) expect(result.stdout + result.stderr).not.toContain(telltale(value));
  });

  it('fails a missing file', async () => {
    const dir = await generated();
    rmSync(join(dir, 'metrics_token'));
    expect(await failuresOf(dir)).toEqual([`metrics_token is missing from ${dir}`]);
  });

  it('fails a JWT key shorter than 32 bytes', async () => {
    const dir = await generated();
    // The trailing newline does not count: the service trims it.
    writeFileSync(join(dir, 'jwt_secret_key'), `${'k'.repeat(31)}\n`);
    expect(await failuresOf(dir)).toEqual(['jwt_secret_key must be at least 32 bytes (openssl rand -base64 48)']);
  });

  it('fails an SSO key that does not decode to 32 bytes', async () => {
    const dir = await generated();
    writeFileSync(join(dir, 'sso_encryption_key'), Buffer.alloc(24, 7).toString('base64'));
    expect(await failuresOf(dir)).toEqual(['sso_encryption_key must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)']);
  });

  it.each([
    ['jwt_secret_key', 'CHANGE_ME-to-a-long-random-value-0123456789'],
    ['metrics_token', 'my-example-metrics-token-0123456789'],
    // .env.example's DATABASE_URL shows this password.
    ['db_password', 'password'],
    // .env.secrets.example's value verbatim, which no placeholder word gives away.
    ['saml_sp_private_key', '-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----'],
  ])('fails a placeholder or example value in %s', async (name, value) => {
    const dir = await generated();
    writeFileSync(join(dir, name), value);
    expect(await failuresOf(dir)).toContain(`${name} holds a placeholder or example value; generate it (scripts/generate_secrets.sh)`);
  });

  it('fails a SAML key that is not the certificate’s', async () => {
    const dir = await generated();
    copyFileSync(join(await generated(), 'saml_sp_cert'), join(dir, 'saml_sp_cert'));
    expect(await failuresOf(dir)).toEqual(['saml_sp_private_key is not the private key of saml_sp_cert']);
  });

  it('fails a database_url without db_password', async () => {
    const dir = await generated();
    writeFileSync(join(dir, 'db_password'), 'f'.repeat(48));
    expect(await failuresOf(dir)).toEqual(['database_url must carry db_password: postgres://fm_auth:<db_password>@postgres:5432/fm_auth']);
  });

  it('lists every failure at once', async () => {
    const dir = await generated();
    rmSync(join(dir, 'saml_sp_cert'));
    writeFileSync(join(dir, 'metrics_token'), 'short');
    expect(await failuresOf(dir)).toEqual([`saml_sp_cert is missing from ${dir}`, 'metrics_token must be at least 24 bytes (openssl rand -hex 32)']);
  });

  describe('in a git repository', () => {
    /** A repository whose secrets/ is generated, with the given .gitignore. */
    async function repository(gitignore: string): Promise<{ repo: string; dir: string }> {
      const repo = freshDir();
      mkdirSync(repo);
      expect((await runCommand('git', ['init', '-q', repo])).status).toBe(0);
      writeFileSync(join(repo, '.gitignore'), gitignore);
      const dir = join(repo, 'secrets');
      expect((await generate('--dir', dir)).status).toBe(0);
      return { repo, dir };
    }

    it('passes an ignored, untracked secrets directory', async () => {
      const { dir } = await repository('secrets/\n');
      const result = await validate(dir);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`OK   ${dir} is ignored by git`);
    });

    it('fails a secret file tracked by git', async () => {
      const { repo, dir } = await repository('secrets/\n');
      expect((await runCommand('git', ['add', '--force', 'secrets/jwt_secret_key'], { cwd: repo })).status).toBe(0);
      expect(await failuresOf(dir)).toEqual([`files under ${dir} are tracked by git: secrets/jwt_secret_key (git rm --cached them, then replace the secrets)`]);
    });

    it('fails a secrets directory missing from .gitignore', async () => {
      const { dir } = await repository('node_modules/\n');
      expect(await failuresOf(dir)).toEqual([`${dir} is not ignored by git: add it to .gitignore`]);
    });
  });
});

describe('.gitignore', () => {
  it('keeps ./secrets/ out of git', async () => {
    const ignored = await runCommand('git', ['check-ignore', '--no-index', '-q', 'secrets/jwt_secret_key']);
    expect(ignored.status).toBe(0);
  });
});
