import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Receives each query's round trip (db/instrument.ts times them); `inFlight` tells how many queries are running now. */
export interface QueryObserver {
  started(): void;
  finished(seconds: number): void;
}

/** Read at scrape time, so the figures are current without a timer. */
export interface ScrapeSources {
  databaseUp(): Promise<boolean>;
  activeSessions(): Promise<number>;
  poolSize: number;
  /** Principals the session cache holds now, and whether it hears the other instances (null: it has none). */
  sessionCache(): { entries: number; listening: boolean | null };
}

/** One registry per container, so tests and several apps in one process never share counters. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly loginAttempts: Counter<'result'>;
  readonly tokensIssued: Counter<'type'>;
  readonly refreshReuseDetected: Counter;
  readonly samlResponses: Counter<'result' | 'reason'>;
  readonly oidcResponses: Counter<'result' | 'reason'>;
  readonly oauthResponses: Counter<'result' | 'reason'>;
  readonly rateLimited: Counter<'limiter'>;
  readonly retentionDeleted: Counter<'table'>;
  readonly mails: Counter<'kind' | 'result'>;
  readonly dbQueryDuration: Histogram;
  readonly sessionCacheLookups: Counter<'result'>;
  readonly sessionCacheInvalidations: Counter<'scope' | 'origin'>;
  readonly sessionCacheUnacknowledged: Counter;
  private sources: ScrapeSources | undefined;
  private queriesInFlight = 0;
  /** Times every SQL query; the in-flight count stands in for busy pool connections. */
  readonly queryObserver: QueryObserver = {
    started: () => {
      this.queriesInFlight += 1;
    },
    finished: (seconds) => {
      this.queriesInFlight -= 1;
      this.dbQueryDuration.observe(seconds);
    },
  };

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route template',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.loginAttempts = new Counter({
      name: 'auth_login_attempts_total',
      help: 'Password login attempts, by result',
      labelNames: ['result'],
      registers,
    });
    this.tokensIssued = new Counter({
      name: 'auth_tokens_issued_total',
      help: 'Tokens issued, by type (access, refresh)',
      labelNames: ['type'],
      registers,
    });
    this.refreshReuseDetected = new Counter({
      name: 'auth_refresh_reuse_detected_total',
      help: 'Used refresh tokens presented again (likely theft); each revoked its session',
      registers,
    });
    this.samlResponses = new Counter({
      name: 'saml_responses_total',
      help: 'SAML responses received at an assertion consumer service, by result and, for refusals, reason',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.oidcResponses = new Counter({
      name: 'oidc_responses_total',
      help: 'OpenID Connect callbacks received, by result and, for refusals, reason',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.oauthResponses = new Counter({
      name: 'oauth_responses_total',
      help: 'Plain OAuth 2.0 callbacks received, by result and, for refusals, reason',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'rate_limited_total',
      help: 'Requests refused with 429 by a rate limit or login throttle, by limiter',
      labelNames: ['limiter'],
      registers,
    });
    this.retentionDeleted = new Counter({
      name: 'retention_deleted_rows_total',
      help: 'Rows deleted by the background retention job, by table',
      labelNames: ['table'],
      registers,
    });
    this.mails = new Counter({
      name: 'mail_deliveries_total',
      help: 'Mails handed to the SMTP server (or, without SMTP_HOST in development, to the log), by kind and result (sent, failed)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.dbQueryDuration = new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Round-trip time of SQL queries',
      buckets: DB_BUCKETS,
      registers,
    });
    this.sessionCacheLookups = new Counter({
      name: 'auth_session_cache_lookups_total',
      help: 'Authenticated requests by how the session cache answered: hit, miss (read from the database), bypass (cache off or not hearing the other instances)',
      labelNames: ['result'],
      registers,
    });
    this.sessionCacheInvalidations = new Counter({
      name: 'auth_session_cache_invalidations_total',
      help: 'Session cache invalidations, by scope (session, user, organization, all) and origin (local change, peer instance, listener connection lost or regained)',
      labelNames: ['scope', 'origin'],
      registers,
    });
    this.sessionCacheUnacknowledged = new Counter({
      name: 'auth_session_cache_unacknowledged_total',
      help: 'Invalidations that some other instance did not acknowledge in time (its entries then expire within the TTL)',
      registers,
    });
    // Known label values start at zero so that rates and alerts work before the first event.
    for (const result of ['success', 'failure']) this.loginAttempts.inc({ result }, 0);
    this.samlResponses.inc({ result: 'success' }, 0);
    this.oidcResponses.inc({ result: 'success' }, 0);
    this.oauthResponses.inc({ result: 'success' }, 0);
    for (const type of ['access', 'refresh']) this.tokensIssued.inc({ type }, 0);
    for (const result of ['hit', 'miss', 'bypass']) this.sessionCacheLookups.inc({ result }, 0);

    // prom-client calls collect() at scrape time with the gauge as `this`; these are arrows, so
    // `this` stays the Metrics and each gauge is set through its own name.
    const databaseUp: Gauge = new Gauge({
      name: 'db_up',
      help: '1 when the database answered the scrape-time ping, else 0',
      registers,
      collect: async () => {
        if (this.sources) databaseUp.set((await this.sources.databaseUp()) ? 1 : 0);
      },
    });
    const activeSessions: Gauge = new Gauge({
      name: 'active_sessions',
      help: 'Sessions neither revoked nor expired',
      registers,
      collect: async () => {
        if (!this.sources) return;
        // An unreachable database is already reported by db_up; keep the scrape answering.
        const count = await this.sources.activeSessions().catch(() => undefined);
        if (count !== undefined) activeSessions.set(count);
      },
    });
    const poolConnections = new Gauge<'state'>({
      name: 'db_pool_connections',
      help: 'Database connections: in_use (running a query), idle and max (pool size)',
      labelNames: ['state'],
      registers,
      collect: () => {
        if (!this.sources) return;
        const max = this.sources.poolSize;
        const inUse = this.queriesInFlight;
        poolConnections.set({ state: 'in_use' }, Math.min(inUse, max));
        poolConnections.set({ state: 'idle' }, Math.max(max - inUse, 0));
        poolConnections.set({ state: 'max' }, max);
      },
    });
    const sessionCacheEntries: Gauge = new Gauge({
      name: 'auth_session_cache_entries',
      help: 'Principals the session cache holds now',
      registers,
      collect: () => {
        if (this.sources) sessionCacheEntries.set(this.sources.sessionCache().entries);
      },
    });
    const sessionCacheListening: Gauge = new Gauge({
      name: 'auth_session_cache_listening',
      help: '1 while the instance hears the other instances’ invalidations (PostgreSQL LISTEN), else 0 (the cache is bypassed); absent with the embedded database',
      registers,
      collect: () => {
        const listening = this.sources?.sessionCache().listening;
        if (listening !== undefined && listening !== null) sessionCacheListening.set(listening ? 1 : 0);
      },
    });
  }

  /** Connects the scrape-time gauges to the running service (the container wires this). */
  readFrom(sources: ScrapeSources): void {
    this.sources = sources;
  }
}
