import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { generateKeyPairSync } from 'node:crypto';
import { makeCertificate } from '../helpers/certificates.js';
import { KEY_PAIR_ALGORITHMS, makeKeyPair, oneLine, toPem } from '../helpers/jwt-keys.js';

const STRONG_SECRET = 'q8V3nH1xZp0rT6mY2cW9bK4sL7dF5gJ1aE3uI8oP';
const DATABASE_URL = 'postgres://fm_auth:s3cret@postgres:5432/fm_auth';
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
    expect(config.jwt.algorithm).toBe('HS256');
    expect(config.jwt.keys.kind === 'hmac' && config.jwt.keys.secretKey.length).toBeGreaterThanOrEqual(32);
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
      JWT_ALGORITHM: 'none',
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
    expect(loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY_FILE: file, DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL, METRICS_TOKEN }).jwt.keys).toEqual({
      kind: 'hmac',
      secretKey: STRONG_SECRET,
      previousSecretKey: null,
    });
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

  it('lets a development SAML login land on the local front end when nothing names one, and nowhere else', () => {
    expect(loadConfig({}).saml.redirectAllowlist).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
    expect(loadConfig({ ENVIRONMENT: 'test' }).saml.redirectAllowlist).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example' }).saml.redirectAllowlist).toEqual(['https://app.example']);
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

  it('reads the TOTP issuer and the second-factor lockout, refusing an issuer an otpauth:// label cannot carry', () => {
    expect(loadConfig({}).mfaTotpIssuer).toBe('fm-auth');
    expect(loadConfig({}).loginThrottle.mfaMaxFailures).toBe(10);
    expect(loadConfig({ MFA_TOTP_ISSUER: 'FaultMaven', MFA_MAX_FAILURES: '20' })).toMatchObject({ mfaTotpIssuer: 'FaultMaven', loginThrottle: { mfaMaxFailures: 20 } });
    expect(problemsOf({ MFA_TOTP_ISSUER: 'Acme: prod' }).join()).toMatch(/MFA_TOTP_ISSUER must be/);
    expect(problemsOf({ MFA_TOTP_ISSUER: ' padded' }).join()).toMatch(/MFA_TOTP_ISSUER must be/);
    expect(problemsOf({ MFA_MAX_FAILURES: '1' }).join()).toMatch(/MFA_MAX_FAILURES/);
  });

  describe('asymmetric JWT algorithms', () => {
    const PRODUCTION = { ENVIRONMENT: 'production', DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL, METRICS_TOKEN };

    it.each(KEY_PAIR_ALGORITHMS)('%s signs with JWT_PRIVATE_KEY, derives the public key, and needs no JWT_SECRET_KEY in production', (algorithm) => {
      const pair = makeKeyPair(algorithm);
      const config = loadConfig({ ...PRODUCTION, JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: pair.privateKey });
      expect(config.jwt.algorithm).toBe(algorithm);
      expect(config.jwt.keys.kind).toBe('key-pair');
      if (config.jwt.keys.kind !== 'key-pair') return;
      expect(config.jwt.keys.publicKey.export({ type: 'spki', format: 'pem' })).toBe(pair.publicKey);
      expect(config.jwt.keys.previousPublicKey).toBeNull();
      expect(config.warnings).toEqual([]);
    });

    it('takes one-line PEM, _FILE forms, a matching public key and a previous public key', () => {
      const current = makeKeyPair('EdDSA');
      const previous = makeKeyPair('EdDSA');
      const dir = mkdtempSync(join(tmpdir(), 'fm-auth-config-'));
      writeFileSync(join(dir, 'private.pem'), current.privateKey);
      const config = loadConfig({
        JWT_ALGORITHM: 'EdDSA',
        JWT_PRIVATE_KEY_FILE: join(dir, 'private.pem'),
        JWT_PUBLIC_KEY: oneLine(current.publicKey),
        JWT_PREVIOUS_PUBLIC_KEY: oneLine(previous.publicKey),
      });
      if (config.jwt.keys.kind !== 'key-pair') throw new Error('expected a key pair');
      expect(config.jwt.keys.previousPublicKey?.export({ type: 'spki', format: 'pem' })).toBe(previous.publicKey);
      expect(loadConfig({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: oneLine(makeKeyPair('RS256').privateKey) }).jwt.keys.kind).toBe('key-pair');
    });

    it('requires JWT_PRIVATE_KEY and refuses what is not a PEM key', () => {
      expect(problemsOf({ JWT_ALGORITHM: 'ES256' })).toEqual(['JWT_PRIVATE_KEY is required when JWT_ALGORITHM=ES256']);
      const pair = makeKeyPair('ES256');
      expect(problemsOf({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: 'not a key' })).toEqual([
        'JWT_PRIVATE_KEY must be an unencrypted PEM private key (PKCS#8, "BEGIN PRIVATE KEY")',
      ]);
      expect(problemsOf({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pair.publicKey }).join()).toMatch(/JWT_PRIVATE_KEY must be an unencrypted PEM private key/);
      expect(problemsOf({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pair.privateKey, JWT_PUBLIC_KEY: 'nope' })).toEqual([
        'JWT_PUBLIC_KEY must be a PEM public key (SPKI, "BEGIN PUBLIC KEY")',
      ]);
      expect(problemsOf({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pair.privateKey, JWT_PREVIOUS_PUBLIC_KEY: pair.privateKey })).toEqual([
        'JWT_PREVIOUS_PUBLIC_KEY must be a public key, not a private key',
      ]);
    });

    it('refuses a key that does not fit the algorithm', () => {
      const rsa = makeKeyPair('RS256');
      expect(problemsOf({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: rsa.privateKey })).toEqual([
        'JWT_PRIVATE_KEY must be an Ed25519 key for JWT_ALGORITHM=EdDSA (got rsa 2048 bits)',
      ]);
      const p384 = toPem(generateKeyPairSync('ec', { namedCurve: 'P-384' }));
      expect(problemsOf({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: p384.privateKey })).toEqual([
        'JWT_PRIVATE_KEY must be a P-256 EC key for JWT_ALGORITHM=ES256 (got ec secp384r1)',
      ]);
      const rsa1024 = toPem(generateKeyPairSync('rsa', { modulusLength: 1024 }));
      expect(problemsOf({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: rsa1024.privateKey })).toEqual([
        'JWT_PRIVATE_KEY must be an RSA key of at least 2048 bits for JWT_ALGORITHM=RS256 (got rsa 1024 bits)',
      ]);
      expect(problemsOf({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: rsa.privateKey, JWT_PREVIOUS_PUBLIC_KEY: makeKeyPair('EdDSA').publicKey })).toEqual([
        'JWT_PREVIOUS_PUBLIC_KEY must be an RSA key of at least 2048 bits for JWT_ALGORITHM=RS256 (got ed25519)',
      ]);
    });

    it('refuses a public key of another private key, and a previous key that is the current one', () => {
      const pair = makeKeyPair('EdDSA');
      expect(problemsOf({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pair.privateKey, JWT_PUBLIC_KEY: makeKeyPair('EdDSA').publicKey })).toEqual([
        'JWT_PUBLIC_KEY is not the public key of JWT_PRIVATE_KEY',
      ]);
      expect(problemsOf({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pair.privateKey, JWT_PREVIOUS_PUBLIC_KEY: pair.publicKey })).toEqual([
        'JWT_PREVIOUS_PUBLIC_KEY is the current public key; set it to the key in use before the rotation',
      ]);
    });

    it('refuses key-pair variables with an HMAC algorithm, and warns of an HMAC secret left with a key pair', () => {
      expect(problemsOf({ JWT_PRIVATE_KEY: makeKeyPair('EdDSA').privateKey })).toEqual([
        'JWT_PRIVATE_KEY, JWT_PUBLIC_KEY and JWT_PREVIOUS_PUBLIC_KEY are used only with JWT_ALGORITHM=EdDSA, ES256, RS256 (JWT_ALGORITHM is HS256)',
      ]);
      const config = loadConfig({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: makeKeyPair('EdDSA').privateKey, JWT_SECRET_KEY: STRONG_SECRET });
      expect(config.warnings).toContain('JWT_SECRET_KEY and JWT_SECRET_KEY_PREVIOUS are not used with JWT_ALGORITHM=EdDSA; remove them');
    });

    it('lists every key problem at once, with the others', () => {
      const problems = problemsOf({ ...PRODUCTION, PORT: 'eighty', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: makeKeyPair('EdDSA').privateKey, JWT_PREVIOUS_PUBLIC_KEY: 'nope' });
      expect(problems).toEqual([
        'PORT must be a whole number from 0 to 65535 (got "eighty")',
        'JWT_PREVIOUS_PUBLIC_KEY must be a PEM public key (SPKI, "BEGIN PUBLIC KEY")',
        'JWT_PRIVATE_KEY must be a P-256 EC key for JWT_ALGORITHM=ES256 (got ed25519)',
      ]);
    });
  });

  describe('mail', () => {
    const PRODUCTION = { ENVIRONMENT: 'production', JWT_SECRET_KEY: STRONG_SECRET, DATABASE_URL, SSO_ENCRYPTION_KEY, PUBLIC_URL, METRICS_TOKEN };
    const SMTP = { SMTP_HOST: 'smtp.example.com', SMTP_FROM_EMAIL: 'no-reply@example.com' };

    it('writes mail to the log in development and sends none in production without SMTP_HOST', () => {
      expect(loadConfig({}).mail).toMatchObject({ transport: { kind: 'log' }, appBaseUrl: 'http://localhost:3000', requireVerifiedEmail: false });
      expect(loadConfig(PRODUCTION).mail.transport).toEqual({ kind: 'disabled' });
    });

    it('builds the SMTP transport, insisting on STARTTLS outside development', () => {
      expect(loadConfig({ ...PRODUCTION, ...SMTP, APP_BASE_URL: 'https://app.example.com/', SMTP_USERNAME: 'mailer', SMTP_PASSWORD: 'pw' }).mail).toMatchObject({
        transport: { kind: 'smtp', host: 'smtp.example.com', port: 587, secure: false, startTls: 'required', username: 'mailer', password: 'pw' },
        from: 'no-reply@example.com',
        appBaseUrl: 'https://app.example.com',
      });
      expect(loadConfig({ ...SMTP, SMTP_SECURE: 'true' }).mail.transport).toMatchObject({ port: 465, secure: true, startTls: 'opportunistic' });
    });

    it('names every mail problem', () => {
      expect(problemsOf({ SMTP_PORT: '25', SMTP_PASSWORD: 'x' })).toEqual(['SMTP_PORT, SMTP_PASSWORD are used only with SMTP_HOST']);
      expect(problemsOf({ SMTP_HOST: 'smtp.example.com', SMTP_USERNAME: 'mailer', SMTP_FROM_EMAIL: 'nobody' })).toEqual([
        'SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither',
        'SMTP_FROM_EMAIL must be an email address (got "nobody")',
      ]);
      expect(problemsOf({ SMTP_HOST: 'smtp.example.com' })).toEqual(['SMTP_FROM_EMAIL is required with SMTP_HOST (the sender address of every mail)']);
      expect(problemsOf({ ...PRODUCTION, ...SMTP, SMTP_STARTTLS: 'off', APP_BASE_URL: 'http://app.example.com' })).toEqual([
        'SMTP_STARTTLS must be required in production unless SMTP_SECURE=true: mail carries reset links and the SMTP password',
        'APP_BASE_URL must be https in production',
      ]);
      expect(problemsOf({ ...PRODUCTION, ...SMTP })).toEqual(['APP_BASE_URL is required when SMTP_HOST is set and ENVIRONMENT=production (the web app the links in mail open)']);
      expect(problemsOf({ ...PRODUCTION, REQUIRE_VERIFIED_EMAIL: 'true' })).toEqual([
        'REQUIRE_VERIFIED_EMAIL=true needs SMTP_HOST: without mail nobody could verify an address, so nobody new could log in',
      ]);
    });
  });
  describe('passkeys (WebAuthn)', () => {
    it('defaults the relying party to the web app: its host name as rp id, its origin, the TOTP issuer as name', () => {
      expect(loadConfig({}).webauthn).toEqual({ rpId: 'localhost', rpName: 'fm-auth', origins: ['http://localhost:3000'] });
      expect(loadConfig({ APP_BASE_URL: 'https://app.example.com', MFA_TOTP_ISSUER: 'FaultMaven' }).webauthn).toEqual({
        rpId: 'app.example.com',
        rpName: 'FaultMaven',
        origins: ['https://app.example.com'],
      });
    });

    it('takes a parent domain as rp id for several web apps below it', () => {
      const env = { WEBAUTHN_RP_ID: 'Example.com', WEBAUTHN_ORIGINS: 'https://app.example.com, https://admin.example.com/', WEBAUTHN_RP_NAME: 'Example' };
      expect(loadConfig(env).webauthn).toEqual({ rpId: 'example.com', rpName: 'Example', origins: ['https://app.example.com', 'https://admin.example.com'] });
    });

    it('refuses an origin outside the rp id, plain http off localhost, a path, and a bad rp id, naming each', () => {
      expect(problemsOf({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://evil.test,http://app.example.com,https://app.example.com/login' })).toEqual([
        'WEBAUTHN_ORIGINS: https://evil.test is outside WEBAUTHN_RP_ID example.com (its host must be example.com or end in .example.com)',
        'WEBAUTHN_ORIGINS: http://app.example.com must be https (browsers allow plain http for localhost only)',
        'WEBAUTHN_ORIGINS must list origins (scheme, host and optional port, no path), like https://app.example.com (got "https://app.example.com/login")',
      ]);
      expect(problemsOf({ WEBAUTHN_RP_ID: 'https://example.com' }).join()).toMatch(/WEBAUTHN_RP_ID must be a host name/);
      expect(problemsOf({ WEBAUTHN_RP_NAME: ' padded' }).join()).toMatch(/WEBAUTHN_RP_NAME must be/);
    });
  });

  describe('DNS resolvers', () => {
    it('uses the system resolvers by default, with a 5 s timeout', () => {
      expect(loadConfig({}).dns).toEqual({ servers: null, timeoutMs: 5000 });
      expect(loadConfig({ DNS_SERVERS: ' ' }).dns.servers).toBeNull();
    });

    it('takes IPv4 and IPv6 resolvers with optional ports', () => {
      expect(loadConfig({ DNS_SERVERS: '1.1.1.1, 8.8.8.8:53,[2606:4700::1111]:5353,::1', DNS_TIMEOUT_MS: '1500' }).dns).toEqual({
        servers: ['1.1.1.1', '8.8.8.8:53', '[2606:4700::1111]:5353', '::1'],
        timeoutMs: 1500,
      });
    });

    it('refuses host names, bad ports and out-of-range timeouts, naming each', () => {
      expect(problemsOf({ DNS_SERVERS: 'dns.google,1.1.1.1:0,[1.1.1.1]:53,9.9.9.9', DNS_TIMEOUT_MS: '10' })).toEqual([
        'DNS_SERVERS must list IP addresses with optional ports, like 1.1.1.1,8.8.8.8:53,[2606:4700::1111]:53 (not valid: dns.google, 1.1.1.1:0, [1.1.1.1]:53)',
        'DNS_TIMEOUT_MS must be a whole number from 100 to 60000 (got "10")',
      ]);
    });
  });
});
