import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { makeCertificate } from '../helpers/certificates.js';

const STRONG_SECRET = 'q8V3nH1xZp0rT6mY2cW9bK4sL7dF5gJ1aE3uI8oP';
const DATABASE_URL = 'postgres://fm_auth:s3cret@db:5432/fm_auth';
const SSO_ENCRYPTION_KEY = 'q3Jm3V0Qe5mV2sX8b1nK4pL7tR9wY2zA5cF8hJ1kM0o=';
const PUBLIC_URL = 'https://auth.example.com';
const METRICS_TOKEN = 'a-long-random-metrics-scrape-token';

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
      PUBLIC_URL: 'http://auth.example.com',
      METRICS_TOKEN,
    });
    expect(problems).toHaveLength(7);
    expect(problems.join('\n')).toMatch(/PUBLIC_URL must be https in production/);
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
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET, DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL, METRICS_TOKEN })).toEqual([]);
    expect(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET, METRICS_TOKEN })).toEqual([
      'PUBLIC_URL is required when ENVIRONMENT=production (the URL clients and identity providers reach the service at)',
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
    expect(loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY_FILE: file, DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL, METRICS_TOKEN }).jwt.secretKey).toBe(STRONG_SECRET);
    expect(problemsOf({ JWT_SECRET_KEY_FILE: file, JWT_SECRET_KEY: STRONG_SECRET }).join()).toMatch(/both set/);
    expect(problemsOf({ JWT_SECRET_KEY_FILE: join(dir, 'missing') }).join()).toMatch(/cannot read/);
  });

  it('derives the public URL from the port outside production and keeps a given one without its trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com/' }).publicUrl).toBe('https://auth.example.com');
    expect(loadConfig({ PUBLIC_URL: 'https://example.com/auth/' }).publicUrl).toBe('https://example.com/auth');
    expect(problemsOf({ PUBLIC_URL: 'auth.example.com' }).join()).toMatch(/PUBLIC_URL must be an http\(s\) URL/);
    expect(problemsOf({ ENVIRONMENT: 'staging', JWT_SECRET_KEY: STRONG_SECRET, SSO_ENCRYPTION_KEY, METRICS_TOKEN })).toEqual([
      'PUBLIC_URL is required when ENVIRONMENT=staging (the URL clients and identity providers reach the service at)',
    ]);
    expect(problemsOf({ ENVIRONMENT: 'staging', JWT_SECRET_KEY: STRONG_SECRET, SSO_ENCRYPTION_KEY, METRICS_TOKEN, PUBLIC_URL: 'http://auth.staging.internal' })).toEqual([]);
    expect(problemsOf({ PUBLIC_URL: 'https://auth.example.com/?x=1' }).join()).toMatch(/PUBLIC_URL must be an http\(s\) URL/);
  });

  it('takes the SSO redirect allow-list from CORS_ORIGINS unless given, and checks its entries', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example,*' }).saml.redirectAllowlist).toEqual(['https://app.example']);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example', SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/, https://admin.example' }).saml.redirectAllowlist).toEqual([
      'https://app.example/sso/',
      'https://admin.example',
    ]);
    expect(problemsOf({ SSO_REDIRECT_ALLOWLIST: 'app.example' }).join()).toMatch(/SSO_REDIRECT_ALLOWLIST: "app.example"/);
  });

  it('takes the SAML signing key pair together, from one-line PEM too, and refuses a mismatched pair', () => {
    const first = makeCertificate('sp-one');
    const second = makeCertificate('sp-two');
    const signing = loadConfig({ SAML_SP_PRIVATE_KEY: first.privateKey.replace(/\n/g, '\\n'), SAML_SP_CERT: first.certificate }).saml.signing;
    expect(signing).toEqual({ privateKey: first.privateKey, certificate: first.certificate });
    expect(loadConfig({}).saml.signing).toBeNull();
    expect(problemsOf({ SAML_SP_CERT: first.certificate }).join()).toMatch(/SAML_SP_PRIVATE_KEY and SAML_SP_CERT go together/);
    expect(problemsOf({ SAML_SP_PRIVATE_KEY: second.privateKey, SAML_SP_CERT: first.certificate }).join()).toMatch(/is not the private key of SAML_SP_CERT/);
    expect(problemsOf({ SAML_SP_PRIVATE_KEY: 'nope', SAML_SP_CERT: 'nope' }).join()).toMatch(/must be a PEM private key/);
  });

  it('refuses to start in staging or production with /metrics open, unless it has a port of its own', () => {
    const production = { ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET, DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL };
    expect(problemsOf(production)).toEqual(['/metrics must be protected when ENVIRONMENT=production: set METRICS_TOKEN, or MANAGEMENT_PORT to serve it on a port of its own']);
    expect(problemsOf({ ...production, METRICS_TOKEN })).toEqual([]);
    expect(loadConfig({ ...production, MANAGEMENT_PORT: '9000' }).management).toEqual({ port: 9000, host: '127.0.0.1' });
    expect(loadConfig({ ...production, MANAGEMENT_PORT: '9100', MANAGEMENT_HOST: '0.0.0.0' }).management).toEqual({ port: 9100, host: '0.0.0.0' });
    expect(problemsOf({ MANAGEMENT_PORT: '8000' })).toEqual(['MANAGEMENT_PORT must differ from PORT']);
    expect(problemsOf({ MANAGEMENT_HOST: '0.0.0.0' })).toEqual(['MANAGEMENT_HOST goes with MANAGEMENT_PORT']);
  });

  it('reads TRUST_PROXY as a boolean, a hop count or a list of proxies', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.7' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    const trustAll = loadConfig({ TRUST_PROXY: 'true' });
    expect(trustAll.trustProxy).toBe(true);
    expect(trustAll.warnings.join(' ')).toMatch(/TRUST_PROXY=true trusts every X-Forwarded-For hop/);
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '11', '1.2.3.4/8/1']) {
      expect(problemsOf({ TRUST_PROXY: bad }).join()).toMatch(/TRUST_PROXY must be false, true, a hop count/);
    }
  });

  it('reads the HTTP timeouts and refuses a headers timeout longer than the request timeout', () => {
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    ]);
  });

  it('takes a Redis URL for shared rate limits and refuses other schemes', () => {
    expect(loadConfig({}).redisUrl).toBeNull();
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379/0' }).redisUrl).toBe('redis://cache:6379/0');
    expect(problemsOf({ REDIS_URL: 'http://cache:6379' }).join()).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});
