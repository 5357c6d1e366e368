import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function configCheck(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/config-check.ts', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('npm run config:check', () => {
  it.each(['.env.example', '.env.development'])('passes %s', (file) => {
    const { status, output } = configCheck(['--env-file', file]);
    expect(output).toMatch(/✓/);
    expect(status).toBe(0);
  });

  it('fails .env.production as shipped, naming each CHANGE_ME', () => {
    const { status, output } = configCheck(['--env-file', '.env.production']);
    expect(status).toBe(1);
    for (const name of ['DATABASE_URL', 'JWT_SECRET_KEY', 'METRICS_TOKEN', 'CORS_ORIGINS', 'SSO_ENCRYPTION_KEY', 'PUBLIC_URL', 'SSO_REDIRECT_ALLOWLIST']) {
      expect(output).toContain(`${name} still holds the CHANGE_ME placeholder`);
    }
  });

  it('reports every problem of the environment at once', () => {
    const { status, output } = configCheck([], {
      ENVIRONMENT: 'production',
      JWT_SECRET_KEY: 'too-short',
      DATABASE_URL: 'not a url',
      CORS_ORIGINS: '*',
      CORS_ALLOW_CREDENTIALS: 'true',
    });
    expect(status).toBe(1);
    expect(output).toMatch(/6 problem\(s\)/);
    expect(output).toMatch(/\/metrics must be protected when ENVIRONMENT=production/);
    expect(output).toMatch(/PUBLIC_URL is required when ENVIRONMENT=production/);
    expect(output).toMatch(/SSO_ENCRYPTION_KEY is required/);
    expect(output).toMatch(/JWT_SECRET_KEY must be at least 32/);
    expect(output).toMatch(/DATABASE_URL is not a valid URL/);
    expect(output).toMatch(/CORS_ORIGINS must list origins explicitly/);
  });
});
