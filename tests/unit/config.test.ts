import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const STRONG_SECRET = 'q8V3nH1xZp0rT6mY2cW9bK4sL7dF5gJ1aE3uI8oP';
const DATABASE_URL = 'postgres://fm_auth:s3cret@db:5432/fm_auth';
const SSO_ENCRYPTION_KEY = 'q3Jm3V0Qe5mV2sX8b1nK4pL7tR9wY2zA5cF8hJ1kM0o=';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('starts with defaults in development and generates a secret with a warning', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.apiPrefix).toBe('/api/v1');
    expect(config.database.url).toBeNull();
    expect(config.database.dataDir).toBe('./data');
    expect(config.jwt.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(config.jwt.accessTokenTtlSeconds).toBe(1800);
    expect(config.warnings.join(' ')).toMatch(/JWT_SECRET_KEY is not set/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({
      ENVIRONMENT: 'production',
      JWT_SECRET_KEY: 'short',
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x/y',
      CORS_ORIGINS: 'https://ok.example,not a url',
      JWT_ALGORITHM: 'RS256',
      SSO_ENCRYPTION_KEY: 'too-short',
    });
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/SSO_ENCRYPTION_KEY must be 32 bytes/);
    expect(problems.join('\n')).toMatch(/JWT_SECRET_KEY must be at least 32/);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/not a url/);
    expect(problems.join('\n')).toMatch(/JWT_ALGORITHM/);
  });

  it('refuses a placeholder secret and a missing secret in production', () => {
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'CHANGE_ME_CHANGE_ME_CHANGE_ME_CHANGE_ME' }).join()).toMatch(/placeholder/);
    expect(problemsOf({ ENVIRONMENT: 'production' }).join()).toMatch(/JWT_SECRET_KEY is required/);
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET, DATABASE_URL, SSO_ENCRYPTION_KEY })).toEqual([]);
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET })).toEqual([
      'SSO_ENCRYPTION_KEY is required when ENVIRONMENT=production',
      'DATABASE_URL is required in production (the embedded database is for development and trials)',
    ]);
  });

  it('refuses "*" origins together with credentials', () => {
    expect(problemsOf({ CORS_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' }).join()).toMatch(/CORS_ORIGINS/);
  });

  it('reads NAME_FILE (Docker secrets) and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-auth-config-'));
    const file = join(dir, 'jwt');
    writeFileSync(file, `${STRONG_SECRET}\n`);
    expect(loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY_FILE: file, DATABASE_URL, SSO_ENCRYPTION_KEY }).jwt.secretKey).toBe(STRONG_SECRET);
    expect(problemsOf({ JWT_SECRET_KEY_FILE: file, JWT_SECRET_KEY: STRONG_SECRET }).join()).toMatch(/both set/);
    expect(problemsOf({ JWT_SECRET_KEY_FILE: join(dir, 'missing') }).join()).toMatch(/cannot read/);
  });
});
