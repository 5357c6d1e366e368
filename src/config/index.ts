import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type DnsConfig, parseDnsServers } from './dns.js';
import { parseWebAuthn, type WebAuthnConfig } from './webauthn.js';
import { isKeyPairAlgorithm, type JwtKeyPair, KEY_PAIR_ALGORITHMS, type KeyPairAlgorithm, parseKeyPair } from './jwt-keys.js';
import { DEFAULT_PORT } from './port.js';

export type Environment = 'development' | 'test' | 'staging' | 'production';
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | KeyPairAlgorithm;
/** What signs and verifies access tokens: HMAC secrets for HS*, a key pair for EdDSA, ES256 and RS256. */
export type JwtKeys = { kind: 'hmac'; secretKey: string; previousSecretKey: string | null } | ({ kind: 'key-pair' } & JwtKeyPair);
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'debug';

export interface Config {
  environment: Environment;
  host: string;
  port: number;
  apiPrefix: string;
  logLevel: LogLevel;
  database: {
    url: string | null;
    dataDir: string;
    echo: boolean;
    /** How long start-up waits for an unreachable PostgreSQL (a database container still starting). */
    startupWaitMs: number;
  };
  retention: {
    /** How often the background pruning runs; 0 turns it off. */
    intervalMs: number;
    /** Days an expired or revoked session (and its refresh tokens) is kept before deletion. */
    deadSessionKeepDays: number;
    /** Days audit rows are kept; null keeps them forever. */
    auditKeepDays: number | null;
  };
  jwt: {
    keys: JwtKeys;
    algorithm: JwtAlgorithm;
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  cors: { origins: string[]; allowCredentials: boolean };
  /** Where browsers and identity providers reach the service: SAML entity ids and ACS URLs start here. */
  publicUrl: string;
  /** AES-256-GCM key for secrets at rest: SSO client secrets and TOTP secrets. */
  ssoEncryptionKey: Buffer;
  /** The issuer authenticator apps show beside a TOTP entry (the otpauth:// URI's issuer). */
  mfaTotpIssuer: string;
  /** Passkeys (WebAuthn) as a second factor: the relying party and the web app's origins. */
  webauthn: WebAuthnConfig;
  saml: {
    /** The service provider's signing key pair (PEM); null signs nothing. */
    signing: { privateKey: string; certificate: string } | null;
    /** Where a SAML or OIDC login may send the browser back to: origins, or URL prefixes. */
    redirectAllowlist: string[];
  };
  allowOrganizationSignup: boolean;
  /** Whether GET /docs, /openapi.json and /openapi.yaml serve the contract (else 404). */
  docsEnabled: boolean;
  loginThrottle: LoginThrottleConfig;
  rateLimits: RateLimitConfig;
  sessionCache: {
    /** How long an authenticated principal is answered from memory; 0 turns the cache off. */
    ttlSeconds: number;
    /** The most principals held; the least recently used go first. */
    maxEntries: number;
  };
  /** Shares rate-limit counters between instances; null keeps them in the database. */
  redisUrl: string | null;
  /** Express's `trust proxy`: false, true (any proxy), a hop count, or addresses/CIDRs/presets. */
  trustProxy: boolean | number | string[];
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  shutdownTimeoutMs: number;
  /** Bearer token scrapers must send to GET /metrics; null leaves it open. */
  metricsToken: string | null;
  /** A separate listener for /metrics (and the probes); null serves /metrics on the main port. */
  management: { port: number; host: string } | null;
  mail: MailConfig;
  /** The resolvers that read the TXT records proving a claimed domain. */
  dns: DnsConfig;
  /** Start-up warnings the caller logs once a logger exists (config comes first). */
  warnings: string[];
}

export interface LoginThrottleConfig {
  /** Failed passwords one client may try for one account in a window before it is locked out. */
  maxFailures: number;
  /** How long that (account, client) pair stays locked. */
  lockSeconds: number;
  /** The window failures are counted in. */
  windowSeconds: number;
  /** Failures on one account from all clients after which every attempt on it is slowed. */
  slowdownAfterFailures: number;
  /** The longest that slow-down gets: it never becomes a lock. */
  maxDelayMs: number;
  /** Failures from one client across all accounts (password spraying) before it is locked out. */
  ipMaxFailures: number;
  /** Wrong second-factor codes on one account from all clients, in a window, before its code checks lock for `lockSeconds`. */
  mfaMaxFailures: number;
}

/** STARTTLS on a plain connection: insist on it, use it when offered, or never. */
export type StartTls = 'required' | 'opportunistic' | 'off';

export type MailTransportConfig =
  | { kind: 'smtp'; host: string; port: number; secure: boolean; startTls: StartTls; username: string | null; password: string | null }
  /** Development and test without SMTP_HOST: one masked line per mail, never its link. */
  | { kind: 'log' }
  /** Staging and production without SMTP_HOST: the flows that need mail are refused. */
  | { kind: 'disabled' };

export interface MailConfig {
  transport: MailTransportConfig;
  from: string;
  /** The web app's address: links in mail open its pages, with the token in the URL fragment. */
  appBaseUrl: string;
  /** Whether a user must have verified their email address before logging in with a password. */
  requireVerifiedEmail: boolean;
  /** Mails (reset, verification) one address receives per hour; more are silently not sent. */
  maxPerAddressPerHour: number;
  /** Mail-sending requests one client may make per hour; more are answered 429. */
  maxPerClientPerHour: number;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Requests per minute one client may send to each public endpoint (login, register, ...). */
  publicPerMinute: number;
  /** Requests per minute one client may send in all, per instance. */
  globalPerMinute: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ENVIRONMENTS: readonly Environment[] = ['development', 'test', 'staging', 'production'];
const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512', ...KEY_PAIR_ALGORITHMS];
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'http', 'debug'];
const MIN_PRODUCTION_SECRET_LENGTH = 32;
const PLACEHOLDER_SECRET = /change[-_ ]?me|changeme|secret[-_]?key|your[-_]|placeholder|example|dev[-_]only|^secret$/i;

type Env = Record<string, string | undefined>;

/**
 * Reads `NAME`, or the file named by `NAME_FILE` (Docker secrets). Setting both is
 * ambiguous, so it is reported rather than silently preferring one.
 */
function readRaw(env: Env, name: string, problems: string[]): string | undefined {
  const fileName = env[`${name}_FILE`];
  const direct = env[name];
  if (fileName !== undefined && fileName !== '') {
    if (direct !== undefined && direct !== '') {
      problems.push(`${name} and ${name}_FILE are both set; set only one`);
      return undefined;
    }
    try {
      return readFileSync(fileName, 'utf8').trim();
    } catch {
      problems.push(`${name}_FILE: cannot read file ${fileName}`);
      return undefined;
    }
  }
  return direct === '' ? undefined : direct;
}

function parseEnum<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T, problems: string[]): T {
  if (raw === undefined) return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
  return fallback;
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined) return fallback;
  const normalized = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

const TRUST_PROXY_PRESETS = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** TRUST_PROXY: false, true, a hop count, or a comma-separated list of addresses, CIDRs and presets. */
function parseTrustProxy(raw: string | undefined, problems: string[], warnings: string[]): Config['trustProxy'] {
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (['false', 'no', 'off'].includes(value)) return false;
  if (['true', 'yes', 'on'].includes(value)) {
    warnings.push('TRUST_PROXY=true trusts every X-Forwarded-For hop, so clients can choose their own address; set the hop count or the proxies’ addresses instead.');
    return true;
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops <= 10) return hops === 0 ? false : hops;
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const invalid = entries.filter((entry) => !TRUST_PROXY_PRESETS.includes(entry) && !isAddressOrCidr(entry));
  if (entries.length === 0 || invalid.length > 0) {
    problems.push(`TRUST_PROXY must be false, true, a hop count from 0 to 10, or proxy addresses, CIDRs or ${TRUST_PROXY_PRESETS.join('/')} separated by commas (got "${raw}")`);
    return false;
  }
  return entries;
}

function parseRedisUrl(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  try {
    const url = new URL(raw);
    if (url.protocol === 'redis:' || url.protocol === 'rediss:') return raw;
  } catch {
    // Reported below, like a URL of another scheme.
  }
  problems.push('REDIS_URL must be a redis:// or rediss:// URL (redis://:password@host:6379/0)');
  return null;
}

function parseDatabaseUrl(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      problems.push('DATABASE_URL must start with postgres:// or postgresql://');
    } else if (url.hostname === '' || url.pathname.length <= 1) {
      problems.push('DATABASE_URL must name a host and a database (postgres://user:pass@host:5432/dbname)');
    }
  } catch {
    problems.push('DATABASE_URL is not a valid URL (expected postgres://user:pass@host:5432/dbname)');
  }
  return raw;
}

function parseCorsOrigins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  // Browsers send origins in lower case; hosts are case-insensitive.
  const origins = raw
    .split(',')
    .map((o) => o.trim().toLowerCase())
    .filter((o) => o !== '');
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com (scheme, host, optional port, no path)`);
    }
  }
  return origins;
}

function parseEncryptionKey(environment: Environment, raw: string | undefined, problems: string[], warnings: string[]): Buffer {
  if (raw === undefined) {
    if (environment === 'production' || environment === 'staging') {
      problems.push(`SSO_ENCRYPTION_KEY is required when ENVIRONMENT=${environment}`);
    } else {
      warnings.push('SSO_ENCRYPTION_KEY is not set: generated one for this process, so SSO client secrets and TOTP authenticators stored now cannot be read after a restart.');
    }
    return randomBytes(32);
  }
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    problems.push('SSO_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)');
  }
  return key;
}

// The issuer precedes a colon in the otpauth:// label, and apps show it as is: printable, no colon.
function parseTotpIssuer(raw: string | undefined, problems: string[]): string {
  if (raw === undefined) return 'fm-auth';
  if (!/^[^:\p{Cc}]{1,64}$/u.test(raw) || raw.trim() !== raw) problems.push('MFA_TOTP_ISSUER must be 1 to 64 printable characters without a colon or surrounding spaces');
  return raw;
}

function parseHttpUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return ['http:', 'https:'].includes(url.protocol) && url.username === '' && url.password === '' && url.search === '' && url.hash === '' ? url : null;
  } catch {
    return null;
  }
}

function parsePublicUrl(environment: Environment, raw: string | undefined, port: number, problems: string[]): string {
  if (raw === undefined) {
    // Staging talks to real identity providers too: a localhost entity id there would be registered with them.
    if (environment === 'production' || environment === 'staging') {
      problems.push(`PUBLIC_URL is required when ENVIRONMENT=${environment} (the URL clients and identity providers reach the service at)`);
    }
    return `http://localhost:${port}`;
  }
  const url = parseHttpUrl(raw);
  if (!url) {
    problems.push(`PUBLIC_URL must be an http(s) URL without query or fragment, like https://auth.example.com (got "${raw}")`);
    return raw;
  }
  if (environment === 'production' && url.protocol !== 'https:') problems.push('PUBLIC_URL must be https in production');
  return url.href.replace(/\/+$/, '');
}

/**
 * Where a development front end runs (the port the Postman collection's SAML step and
 * .env.development use): a plain `npm start` lets a SAML login land there. Only in development,
 * and only when neither SSO_REDIRECT_ALLOWLIST nor CORS_ORIGINS names anything.
 */
const DEVELOPMENT_REDIRECT_ALLOWLIST = ['http://localhost:3000', 'http://127.0.0.1:3000'];

function parseRedirectAllowlist(environment: Environment, raw: string | undefined, corsOrigins: string[], problems: string[]): string[] {
  if (raw === undefined) {
    const fromCors = corsOrigins.filter((origin) => origin !== '*');
    return fromCors.length === 0 && environment === 'development' ? DEVELOPMENT_REDIRECT_ALLOWLIST : fromCors;
  }
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!parseHttpUrl(entry)) problems.push(`SSO_REDIRECT_ALLOWLIST: "${entry}" is not an origin or URL prefix like https://app.example.com/sso/`);
  }
  return entries;
}

/** PEM in a one-line env value (an env file cannot hold line breaks) arrives with literal \\n. */
function unescapeNewlines(raw: string | undefined): string | undefined {
  return raw?.replace(/\\n/g, '\n');
}

function parseSamlSigning(privateKeyPem: string | undefined, certificatePem: string | undefined, problems: string[]): Config['saml']['signing'] {
  if (privateKeyPem === undefined && certificatePem === undefined) return null;
  if (privateKeyPem === undefined || certificatePem === undefined) {
    problems.push('SAML_SP_PRIVATE_KEY and SAML_SP_CERT go together: set both or neither');
    return null;
  }
  try {
    const certificate = new X509Certificate(certificatePem);
    if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) {
      problems.push('SAML_SP_PRIVATE_KEY is not the private key of SAML_SP_CERT');
      return null;
    }
  } catch {
    problems.push('SAML_SP_PRIVATE_KEY and SAML_SP_CERT must be a PEM private key and its PEM X.509 certificate');
    return null;
  }
  return { privateKey: privateKeyPem, certificate: certificatePem };
}

const STARTTLS_MODES: readonly StartTls[] = ['required', 'opportunistic', 'off'];
const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;
const DEVELOPMENT_APP_BASE_URL = 'http://localhost:3000';

function parseAppBaseUrl(environment: Environment, raw: string | undefined, mailOn: boolean, problems: string[]): string {
  if (raw === undefined) {
    if (mailOn && (environment === 'production' || environment === 'staging')) {
      problems.push(`APP_BASE_URL is required when SMTP_HOST is set and ENVIRONMENT=${environment} (the web app the links in mail open)`);
    }
    return DEVELOPMENT_APP_BASE_URL;
  }
  const url = parseHttpUrl(raw);
  if (!url) {
    problems.push(`APP_BASE_URL must be an http(s) URL without query or fragment, like https://app.example.com (got "${raw}")`);
    return raw;
  }
  if (environment === 'production' && url.protocol !== 'https:') problems.push('APP_BASE_URL must be https in production');
  return url.href.replace(/\/+$/, '');
}

function parseMail(environment: Environment, read: (name: string) => string | undefined, problems: string[]): MailConfig {
  const host = read('SMTP_HOST');
  const deployed = environment === 'production' || environment === 'staging';
  const smtpOnly = ['SMTP_PORT', 'SMTP_SECURE', 'SMTP_STARTTLS', 'SMTP_USERNAME', 'SMTP_PASSWORD'].filter((name) => read(name) !== undefined);
  let transport: MailTransportConfig;
  if (host === undefined) {
    if (smtpOnly.length > 0) problems.push(`${smtpOnly.join(', ')} ${smtpOnly.length === 1 ? 'is' : 'are'} used only with SMTP_HOST`);
    transport = deployed ? { kind: 'disabled' } : { kind: 'log' };
  } else {
    const secure = parseBoolean('SMTP_SECURE', read('SMTP_SECURE'), false, problems);
    const startTls = parseEnum('SMTP_STARTTLS', read('SMTP_STARTTLS'), STARTTLS_MODES, deployed ? 'required' : 'opportunistic', problems);
    if (environment === 'production' && !secure && startTls !== 'required') {
      problems.push('SMTP_STARTTLS must be required in production unless SMTP_SECURE=true: mail carries reset links and the SMTP password');
    }
    const username = read('SMTP_USERNAME') ?? null;
    const password = read('SMTP_PASSWORD') ?? null;
    if ((username === null) !== (password === null)) problems.push('SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither');
    transport = { kind: 'smtp', host, port: parseInteger('SMTP_PORT', read('SMTP_PORT'), secure ? 465 : 587, 1, 65535, problems), secure, startTls, username, password };
  }
  const from = read('SMTP_FROM_EMAIL');
  if (from === undefined && host !== undefined) problems.push('SMTP_FROM_EMAIL is required with SMTP_HOST (the sender address of every mail)');
  if (from !== undefined && !EMAIL_ADDRESS.test(from)) problems.push(`SMTP_FROM_EMAIL must be an email address (got "${from}")`);
  const requireVerifiedEmail = parseBoolean('REQUIRE_VERIFIED_EMAIL', read('REQUIRE_VERIFIED_EMAIL'), false, problems);
  if (requireVerifiedEmail && transport.kind === 'disabled') {
    problems.push('REQUIRE_VERIFIED_EMAIL=true needs SMTP_HOST: without mail nobody could verify an address, so nobody new could log in');
  }
  return {
    transport,
    from: from ?? 'fm-auth@localhost',
    appBaseUrl: parseAppBaseUrl(environment, read('APP_BASE_URL'), host !== undefined, problems),
    requireVerifiedEmail,
    maxPerAddressPerHour: parseInteger('EMAIL_MAX_PER_ADDRESS_PER_HOUR', read('EMAIL_MAX_PER_ADDRESS_PER_HOUR'), 3, 1, 1000, problems),
    maxPerClientPerHour: parseInteger('EMAIL_MAX_PER_CLIENT_PER_HOUR', read('EMAIL_MAX_PER_CLIENT_PER_HOUR'), 30, 1, 1_000_000, problems),
  };
}

function parseApiPrefix(raw: string | undefined, problems: string[]): string {
  const prefix = raw ?? '/api/v1';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    problems.push(`API_PREFIX must look like /api/v1 (got "${prefix}")`);
    return '/api/v1';
  }
  return prefix;
}

function resolveSecret(environment: Environment, raw: string | undefined, problems: string[], warnings: string[]): string {
  if (raw === undefined) {
    if (environment === 'production' || environment === 'staging') {
      problems.push(`JWT_SECRET_KEY is required when ENVIRONMENT=${environment}`);
      return '';
    }
    warnings.push(
      'JWT_SECRET_KEY is not set: generated a random one for this process. Every token becomes invalid at restart. Set JWT_SECRET_KEY for anything but local development.',
    );
    return randomBytes(48).toString('base64url');
  }
  if (environment === 'production') {
    if (raw.length < MIN_PRODUCTION_SECRET_LENGTH) {
      problems.push(`JWT_SECRET_KEY must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
    }
    if (PLACEHOLDER_SECRET.test(raw)) {
      problems.push('JWT_SECRET_KEY is a placeholder value; generate one with: openssl rand -base64 48');
    }
  }
  return raw;
}

function parseManagement(rawPort: string | undefined, rawHost: string | undefined, problems: string[]): Config['management'] {
  if (rawPort === undefined) {
    if (rawHost !== undefined) problems.push('MANAGEMENT_HOST goes with MANAGEMENT_PORT');
    return null;
  }
  // Loopback by default: metrics are for the scraper beside the service, not for the world.
  return { port: parseInteger('MANAGEMENT_PORT', rawPort, 9000, 0, 65535, problems), host: rawHost ?? '127.0.0.1' };
}

function parseJwtKeys(environment: Environment, algorithm: JwtAlgorithm, read: (name: string) => string | undefined, problems: string[], warnings: string[]): JwtKeys {
  const pems = {
    privateKey: unescapeNewlines(read('JWT_PRIVATE_KEY')),
    publicKey: unescapeNewlines(read('JWT_PUBLIC_KEY')),
    previousPublicKey: unescapeNewlines(read('JWT_PREVIOUS_PUBLIC_KEY')),
  };
  if (isKeyPairAlgorithm(algorithm)) {
    if (read('JWT_SECRET_KEY') !== undefined || read('JWT_SECRET_KEY_PREVIOUS') !== undefined) {
      warnings.push(`JWT_SECRET_KEY and JWT_SECRET_KEY_PREVIOUS are not used with JWT_ALGORITHM=${algorithm}; remove them`);
    }
    const pair = parseKeyPair(algorithm, pems, problems);
    // Null only with a problem listed, which stops loadConfig before anything uses the keys.
    return pair ? { kind: 'key-pair', ...pair } : { kind: 'hmac', secretKey: '', previousSecretKey: null };
  }
  // Keys without an asymmetric algorithm would sign nothing: the operator surely meant to switch.
  if (Object.values(pems).some((pem) => pem !== undefined)) {
    problems.push(`JWT_PRIVATE_KEY, JWT_PUBLIC_KEY and JWT_PREVIOUS_PUBLIC_KEY are used only with JWT_ALGORITHM=${KEY_PAIR_ALGORITHMS.join(', ')} (JWT_ALGORITHM is ${algorithm})`);
  }
  return {
    kind: 'hmac',
    secretKey: resolveSecret(environment, read('JWT_SECRET_KEY'), problems, warnings),
    previousSecretKey: read('JWT_SECRET_KEY_PREVIOUS') ?? null,
  };
}

/** Reads and validates the whole configuration once; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const valuesRead = new Map<string, string>();
  const read = (name: string) => {
    const value = readRaw(env, name, problems);
    if (value !== undefined) valuesRead.set(name, value);
    return value;
  };

  const environment = parseEnum('ENVIRONMENT', read('ENVIRONMENT'), ENVIRONMENTS, 'development', problems);
  const cors = {
    origins: parseCorsOrigins(read('CORS_ORIGINS'), problems),
    allowCredentials: parseBoolean('CORS_ALLOW_CREDENTIALS', read('CORS_ALLOW_CREDENTIALS'), false, problems),
  };
  if (cors.allowCredentials && cors.origins.includes('*')) {
    problems.push('CORS_ORIGINS must list origins explicitly when CORS_ALLOW_CREDENTIALS is true ("*" is not allowed)');
  }

  const port = parseInteger('PORT', read('PORT'), DEFAULT_PORT, 0, 65535, problems);
  const jwtAlgorithm = parseEnum('JWT_ALGORITHM', read('JWT_ALGORITHM'), JWT_ALGORITHMS, 'HS256', problems);
  const mail = parseMail(environment, read, problems);
  const mfaTotpIssuer = parseTotpIssuer(read('MFA_TOTP_ISSUER'), problems);
  const config: Config = {
    environment,
    host: read('HOST') ?? '0.0.0.0',
    port,
    publicUrl: parsePublicUrl(environment, read('PUBLIC_URL'), port, problems),
    apiPrefix: parseApiPrefix(read('API_PREFIX'), problems),
    logLevel: parseEnum('LOG_LEVEL', read('LOG_LEVEL')?.toLowerCase(), LOG_LEVELS, 'info', problems),
    database: {
      url: parseDatabaseUrl(read('DATABASE_URL'), problems),
      dataDir: read('DATA_DIR') ?? './data',
      echo: parseBoolean('DATABASE_ECHO', read('DATABASE_ECHO'), false, problems),
      startupWaitMs: parseInteger('DATABASE_STARTUP_WAIT_MS', read('DATABASE_STARTUP_WAIT_MS'), 60_000, 0, 600_000, problems),
    },
    retention: {
      intervalMs: parseInteger('RETENTION_INTERVAL_SECONDS', read('RETENTION_INTERVAL_SECONDS'), 3600, 0, 604_800, problems) * 1000,
      deadSessionKeepDays: parseInteger('SESSION_RETENTION_DAYS', read('SESSION_RETENTION_DAYS'), 7, 0, 3650, problems),
      auditKeepDays: read('AUDIT_RETENTION_DAYS') === undefined ? null : parseInteger('AUDIT_RETENTION_DAYS', read('AUDIT_RETENTION_DAYS'), 0, 1, 36_500, problems),
    },
    jwt: {
      keys: parseJwtKeys(environment, jwtAlgorithm, read, problems, warnings),
      algorithm: jwtAlgorithm,
      issuer: read('JWT_ISSUER') ?? 'fm-auth',
      audience: read('JWT_AUDIENCE') ?? 'fm-auth-api',
      accessTokenTtlSeconds: 60 * parseInteger('ACCESS_TOKEN_EXPIRE_MINUTES', read('ACCESS_TOKEN_EXPIRE_MINUTES'), 30, 1, 24 * 60, problems),
      refreshTokenTtlSeconds: 86400 * parseInteger('REFRESH_TOKEN_EXPIRE_DAYS', read('REFRESH_TOKEN_EXPIRE_DAYS'), 7, 1, 365, problems),
    },
    cors,
    ssoEncryptionKey: parseEncryptionKey(environment, read('SSO_ENCRYPTION_KEY'), problems, warnings),
    mfaTotpIssuer,
    webauthn: parseWebAuthn(read, mail.appBaseUrl, mfaTotpIssuer, environment === 'production', problems),
    saml: {
      signing: parseSamlSigning(unescapeNewlines(read('SAML_SP_PRIVATE_KEY')), unescapeNewlines(read('SAML_SP_CERT')), problems),
      redirectAllowlist: parseRedirectAllowlist(environment, read('SSO_REDIRECT_ALLOWLIST'), cors.origins, problems),
    },
    loginThrottle: {
      maxFailures: parseInteger('LOGIN_MAX_FAILURES', read('LOGIN_MAX_FAILURES'), 5, 2, 100, problems),
      lockSeconds: parseInteger('LOGIN_LOCKOUT_SECONDS', read('LOGIN_LOCKOUT_SECONDS'), 300, 1, 86_400, problems),
      windowSeconds: parseInteger('LOGIN_FAILURE_WINDOW_SECONDS', read('LOGIN_FAILURE_WINDOW_SECONDS'), 900, 60, 86_400, problems),
      slowdownAfterFailures: parseInteger('LOGIN_SLOWDOWN_AFTER_FAILURES', read('LOGIN_SLOWDOWN_AFTER_FAILURES'), 10, 1, 10_000, problems),
      maxDelayMs: parseInteger('LOGIN_SLOWDOWN_MAX_MS', read('LOGIN_SLOWDOWN_MAX_MS'), 3000, 0, 10_000, problems),
      ipMaxFailures: parseInteger('LOGIN_IP_MAX_FAILURES', read('LOGIN_IP_MAX_FAILURES'), 30, 1, 1_000_000, problems),
      mfaMaxFailures: parseInteger('MFA_MAX_FAILURES', read('MFA_MAX_FAILURES'), 10, 2, 1000, problems),
    },
    rateLimits: {
      enabled: parseBoolean('RATE_LIMIT_ENABLED', read('RATE_LIMIT_ENABLED'), true, problems),
      publicPerMinute: parseInteger('RATE_LIMIT_PUBLIC_PER_MINUTE', read('RATE_LIMIT_PUBLIC_PER_MINUTE'), 60, 1, 1_000_000, problems),
      globalPerMinute: parseInteger('RATE_LIMIT_GLOBAL_PER_MINUTE', read('RATE_LIMIT_GLOBAL_PER_MINUTE'), 1200, 1, 10_000_000, problems),
    },
    sessionCache: {
      ttlSeconds: parseInteger('SESSION_CACHE_TTL_SECONDS', read('SESSION_CACHE_TTL_SECONDS'), 5, 0, 300, problems),
      maxEntries: parseInteger('SESSION_CACHE_MAX_ENTRIES', read('SESSION_CACHE_MAX_ENTRIES'), 10_000, 1, 1_000_000, problems),
    },
    redisUrl: parseRedisUrl(read('REDIS_URL'), problems),
    allowOrganizationSignup: parseBoolean('ALLOW_ORGANIZATION_SIGNUP', read('ALLOW_ORGANIZATION_SIGNUP'), true, problems),
    docsEnabled: parseBoolean('DOCS_ENABLED', read('DOCS_ENABLED'), true, problems),
    trustProxy: parseTrustProxy(read('TRUST_PROXY'), problems, warnings),
    http: {
      headersTimeoutMs: parseInteger('HTTP_HEADERS_TIMEOUT_MS', read('HTTP_HEADERS_TIMEOUT_MS'), 10_000, 100, 600_000, problems),
      requestTimeoutMs: parseInteger('HTTP_REQUEST_TIMEOUT_MS', read('HTTP_REQUEST_TIMEOUT_MS'), 30_000, 100, 600_000, problems),
      keepAliveTimeoutMs: parseInteger('HTTP_KEEP_ALIVE_TIMEOUT_MS', read('HTTP_KEEP_ALIVE_TIMEOUT_MS'), 5_000, 100, 600_000, problems),
    },
    metricsToken: read('METRICS_TOKEN') ?? null,
    management: parseManagement(read('MANAGEMENT_PORT'), read('MANAGEMENT_HOST'), problems),
    shutdownTimeoutMs: parseInteger('SHUTDOWN_TIMEOUT_MS', read('SHUTDOWN_TIMEOUT_MS'), 10_000, 0, 600_000, problems),
    mail,
    dns: {
      servers: parseDnsServers(read('DNS_SERVERS'), problems),
      timeoutMs: parseInteger('DNS_TIMEOUT_MS', read('DNS_TIMEOUT_MS'), 5000, 100, 60_000, problems),
    },
    warnings,
  };

  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }
  if ((environment === 'production' || environment === 'staging') && config.metricsToken === null && config.management === null) {
    problems.push(`/metrics must be protected when ENVIRONMENT=${environment}: set METRICS_TOKEN, or MANAGEMENT_PORT to serve it on a port of its own`);
  }
  if (config.management !== null && config.management.port === port && port !== 0) {
    problems.push('MANAGEMENT_PORT must differ from PORT');
  }

  if (environment === 'production') {
    if (config.database.url === null) {
      problems.push('DATABASE_URL is required in production (the embedded database is for development and trials)');
    }
    for (const [name, value] of valuesRead) {
      if (/change_me/i.test(value)) problems.push(`${name} still holds the CHANGE_ME placeholder`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
