import { sql } from 'drizzle-orm';
import type { Config } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Database } from './client.js';
import { auditLogs, emailTokens, mfaChallenges, oidcLogins, rateLimits, samlAssertions, samlRequests, sessions, webauthnRegistrations } from './schema.js';

const BATCH_SIZE = 1000;
const DAY_MS = 86_400_000;

type RetentionConfig = Config['retention'];
interface DeleteResult {
  count?: number;
  affectedRows?: number;
}

/**
 * Deletes what no request can use any more, in bounded batches (each its own statement, so none
 * holds locks for long): sessions dead (expired or revoked) for longer than the keep period, with
 * their refresh tokens (cascade); SAML requests, OIDC logins, replay-cache rows, mailed links'
 * tokens and rate-limit counters past their expiry; audit rows older than AUDIT_RETENTION_DAYS when
 * set. (rate-limiter-flexible's own clean-up is off: an unbounded delete by every instance every
 * five minutes, whose failures go to the console, and whose timer outlives a closed database.)
 * Several instances may prune at once: each batch skips rows another one has locked.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Database,
    private readonly config: RetentionConfig,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    if (this.config.intervalMs === 0 || this.timer) return;
    const tick = () => {
      this.running ??= this.runOnce()
        .catch((error: unknown) => this.logger.warn('retention run failed', { error }))
        .finally(() => {
          this.running = undefined;
        });
    };
    this.timer = setInterval(tick, this.config.intervalMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round; answers the rows deleted per table. */
  async runOnce(): Promise<Record<string, number>> {
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const deadBefore = new Date(nowMs - this.config.deadSessionKeepDays * DAY_MS).toISOString();
    const deleted: Record<string, number> = {
      sessions: await inBatches(() =>
        this.db.execute(sql`delete from ${sessions} where ${sessions.id} in (
          select ${sessions.id} from ${sessions}
          where ${sessions.expiresAt} < ${deadBefore}::timestamptz or ${sessions.revokedAt} < ${deadBefore}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      saml_requests: await inBatches(() =>
        this.db.execute(sql`delete from ${samlRequests} where ${samlRequests.id} in (
          select ${samlRequests.id} from ${samlRequests} where ${samlRequests.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      oidc_logins: await inBatches(() =>
        this.db.execute(sql`delete from ${oidcLogins} where ${oidcLogins.stateHash} in (
          select ${oidcLogins.stateHash} from ${oidcLogins} where ${oidcLogins.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      saml_assertions: await inBatches(() =>
        this.db.execute(sql`delete from ${samlAssertions} where ctid in (
          select ctid from ${samlAssertions} where ${samlAssertions.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      email_tokens: await inBatches(() =>
        this.db.execute(sql`delete from ${emailTokens} where ${emailTokens.id} in (
          select ${emailTokens.id} from ${emailTokens} where ${emailTokens.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      // A counter whose window has passed counts nothing: the limiter starts it afresh when it
      // meets one, so deleting it at the same moment changes no decision.
      rate_limits: await inBatches(() =>
        this.db.execute(sql`delete from ${rateLimits} where ${rateLimits.key} in (
          select ${rateLimits.key} from ${rateLimits} where ${rateLimits.expire} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      mfa_challenges: await inBatches(() =>
        this.db.execute(sql`delete from ${mfaChallenges} where ${mfaChallenges.id} in (
          select ${mfaChallenges.id} from ${mfaChallenges} where ${mfaChallenges.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
      webauthn_registrations: await inBatches(() =>
        this.db.execute(sql`delete from ${webauthnRegistrations} where ${webauthnRegistrations.userId} in (
          select ${webauthnRegistrations.userId} from ${webauthnRegistrations} where ${webauthnRegistrations.expiresAt} < ${now}::timestamptz
          limit ${BATCH_SIZE} for update skip locked)`),
      ),
    };
    const { auditKeepDays } = this.config;
    if (auditKeepDays !== null) {
      const before = new Date(nowMs - auditKeepDays * DAY_MS).toISOString();
      deleted.audit_logs = await inBatches(() =>
        this.db.transaction(async (tx) => {
          // The append-only trigger lets a delete through only for rows older than this setting.
          await tx.execute(sql`select set_config('fm_auth.audit_retention_days', ${String(auditKeepDays)}, true)`);
          return tx.execute(sql`delete from ${auditLogs} where ${auditLogs.id} in (
            select ${auditLogs.id} from ${auditLogs} where ${auditLogs.createdAt} < ${before}::timestamptz
            limit ${BATCH_SIZE} for update skip locked)`);
        }),
      );
    }
    for (const [table, rows] of Object.entries(deleted)) if (rows > 0) this.metrics.retentionDeleted.inc({ table }, rows);
    if (Object.values(deleted).some((rows) => rows > 0)) this.logger.info('retention', { deleted });
    return deleted;
  }
}

/** Repeats one bounded delete until a batch comes back short; answers the rows deleted. */
async function inBatches(deleteBatch: () => PromiseLike<unknown>): Promise<number> {
  let total = 0;
  for (;;) {
    const result = (await deleteBatch()) as DeleteResult;
    const rows = result.count ?? result.affectedRows ?? 0;
    total += rows;
    if (rows < BATCH_SIZE) return total;
  }
}
