import { and, count, eq, gt, inArray, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { Config } from '../config/index.js';
import { qualified } from '../db/qualified.js';
import type { Database, Queryable } from '../db/client.js';
import { organizations, permissions, refreshTokens, rolePermissions, sessions, userRoles, users } from '../db/schema.js';
import { AppError } from '../core/errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type AccessTokens, hashRefreshToken, newRefreshToken } from './tokens.js';
import type { Principal } from '../core/principal.js';
import type { RequestMeta } from '../core/request-meta.js';
import type { AuditLog } from '../core/audit-log.js';
import type { PrincipalCache } from './principal-cache.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export type RevokeReason =
  | 'logout'
  | 'refresh_token_reuse'
  | 'password_changed'
  | 'password_reset'
  | 'user_deactivated'
  | 'organization_disabled'
  /** By an operator with `npm run admin -- revoke-sessions` (a leak, an incident). */
  | 'admin_revoked';

/**
 * RFC 8176 values: `pwd` a password, `otp` a one-time code (TOTP), `mfa` more than one factor;
 * `ext` (not registered there) a login an external identity provider vouched for (SAML, OIDC, OAuth), whose
 * own methods we are not told.
 */
export type AuthenticationMethod = 'pwd' | 'otp' | 'hwk' | 'swk' | 'mfa' | 'ext';

interface SessionUser {
  id: string;
  email: string;
  organizationId: string;
}

type RotationOutcome = { kind: 'rotated'; tokens: TokenPair } | { kind: 'reused'; session: SessionOwner } | { kind: 'invalid' };

interface SessionOwner {
  sessionId: string;
  userId: string;
  organizationId: string;
}

export interface SessionsDependencies {
  db: Database;
  accessTokens: AccessTokens;
  jwt: Config['jwt'];
  metrics: Metrics;
  audit: AuditLog;
  principals: PrincipalCache;
}

/** Starts with the phrase the old service's clients match on; said only to whoever proved they hold the account. */
export const ACCOUNT_DISABLED = 'Account is disabled: ask an administrator of your organization';
const SESSION_ENDED = 'The session has ended; log in again';
// Every refused refresh says the same, so the answer never tells a used token from an unknown one
// or a disabled account; "Invalid refresh token" is what the old service's clients match on.
const INVALID_REFRESH = 'Invalid refresh token: it is unknown, expired, used or revoked; log in again';

/** Sessions that still let someone in: neither revoked nor expired. */
const isLive = () => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`));

/**
 * What a user's roles grant, as one array: a subquery of the authentication query, so a request
 * pays one round trip for session, user, organization and permissions.
 */
const grantedPermissions = sql<string[]>`coalesce((
  select array_agg(distinct ${qualified(permissions.name)})
  from ${userRoles}
  inner join ${rolePermissions} on ${qualified(rolePermissions.roleId)} = ${qualified(userRoles.roleId)}
  inner join ${permissions} on ${qualified(permissions.id)} = ${qualified(rolePermissions.permissionId)}
  where ${qualified(userRoles.userId)} = ${qualified(users.id)}
), '{}')`;

/** Built once and prepared: every authenticated request runs it, and building its SQL cost more CPU than sending it. */
function liveSessionQuery(db: Database) {
  return db
    .select({
      email: users.email,
      organizationId: users.organizationId,
      isSuperadmin: users.isSuperadmin,
      permissions: grantedPermissions,
      sessionExpiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(organizations, eq(organizations.id, users.organizationId))
    .where(
      and(
        eq(sessions.id, sql.placeholder('sessionId')),
        eq(sessions.userId, sql.placeholder('userId')),
        isLive(),
        eq(users.isActive, true),
        isNull(users.deletedAt),
        eq(organizations.isActive, true),
        isNull(organizations.deletedAt),
      ),
    )
    .prepare('fm_auth_live_session');
}

/** Sessions, their rotating refresh tokens and the access tokens bound to them by `sid`. */
export class Sessions {
  private readonly db: Database;
  private readonly accessTokens: AccessTokens;
  private readonly refreshTokenTtlSeconds: number;
  private readonly metrics: Metrics;
  private readonly audit: AuditLog;
  private readonly liveSession: ReturnType<typeof liveSessionQuery>;
  private readonly principals: PrincipalCache;

  constructor({ db, accessTokens, jwt, metrics, audit, principals }: SessionsDependencies) {
    this.db = db;
    this.accessTokens = accessTokens;
    this.refreshTokenTtlSeconds = jwt.refreshTokenTtlSeconds;
    this.metrics = metrics;
    this.audit = audit;
    this.liveSession = liveSessionQuery(db);
    this.principals = principals;
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.refreshTokenTtlSeconds * 1000);
  }

  /** `amr`: how the login was proved (RFC 8176), kept on the session so that refreshed tokens say it too. */
  async start(db: Queryable, user: SessionUser, authMethod: 'password' | 'saml' | 'oidc' | 'oauth', amr: AuthenticationMethod[], meta: RequestMeta): Promise<TokenPair> {
    const expiresAt = this.refreshExpiry();
    const [session] = await db
      .insert(sessions)
      .values({ userId: user.id, authMethod, amr, ipAddress: meta.ip, userAgent: meta.userAgent?.slice(0, 512) ?? null, expiresAt })
      .returning({ id: sessions.id });
    if (!session) throw new Error('session insert returned no row');
    return this.issuePair(db, session.id, user, amr, expiresAt);
  }

  private async issuePair(db: Queryable, sessionId: string, user: SessionUser, amr: string[], expiresAt: Date): Promise<TokenPair> {
    const refresh = newRefreshToken();
    await db.insert(refreshTokens).values({ sessionId, tokenHash: refresh.hash, expiresAt });
    const access = await this.accessTokens.issue({ userId: user.id, email: user.email, organizationId: user.organizationId, sessionId, amr });
    this.metrics.tokensIssued.inc({ type: 'access' });
    this.metrics.tokensIssued.inc({ type: 'refresh' });
    return { accessToken: access.token, refreshToken: refresh.token, expiresIn: access.expiresIn };
  }

  /**
   * A new pair for a refresh token, rotated within its session. A token that was already used
   * means it leaked (RFC 9700 reuse detection): the whole session ends, audited, and the answer is
   * the same 401 as for any other refused token.
   */
  async refresh(presented: string, meta: RequestMeta): Promise<TokenPair> {
    const outcome = await this.rotate(presented);
    if (outcome.kind === 'rotated') return outcome.tokens;
    if (outcome.kind === 'reused') {
      this.metrics.refreshReuseDetected.inc();
      await this.end(outcome.session, 'refresh_token_reuse', meta);
    }
    throw AppError.unauthorized('refresh_token_invalid', INVALID_REFRESH);
  }

  /** Logout: ends the caller's session, audited. */
  logout(principal: Principal, meta: RequestMeta): Promise<void> {
    return this.end(principal, 'logout', meta);
  }

  private async end(session: SessionOwner, reason: 'logout' | 'refresh_token_reuse', meta: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.revoke(tx, session.sessionId, reason);
      await this.audit.record(tx, meta, {
        eventType: reason === 'logout' ? 'auth.logout' : 'auth.refresh_token_reuse',
        status: reason === 'logout' ? 'success' : 'failure',
        organizationId: session.organizationId,
        actorUserId: session.userId,
        resourceType: 'session',
        resourceId: session.sessionId,
      });
    });
    await this.principals.invalidate({ kind: 'session', id: session.sessionId });
  }

  private async rotate(presented: string): Promise<RotationOutcome> {
    return this.db.transaction(async (tx) => {
      const [found] = await tx
        .select({
          tokenId: refreshTokens.id,
          usedAt: refreshTokens.usedAt,
          tokenExpiresAt: refreshTokens.expiresAt,
          sessionId: sessions.id,
          revokedAt: sessions.revokedAt,
          amr: sessions.amr,
          user: { id: users.id, email: users.email, organizationId: users.organizationId, isActive: users.isActive, deletedAt: users.deletedAt },
          organization: { isActive: organizations.isActive, deletedAt: organizations.deletedAt },
        })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, sessions.userId))
        .innerJoin(organizations, eq(organizations.id, users.organizationId))
        .where(eq(refreshTokens.tokenHash, hashRefreshToken(presented)))
        .for('update', { of: refreshTokens });
      if (!found || found.revokedAt) return { kind: 'invalid' } as const;
      const owner = { sessionId: found.sessionId, userId: found.user.id, organizationId: found.user.organizationId };
      if (found.usedAt) return { kind: 'reused', session: owner } as const;
      const accountLive = found.user.isActive && !found.user.deletedAt && found.organization.isActive && !found.organization.deletedAt;
      if (!accountLive || found.tokenExpiresAt.getTime() <= Date.now()) return { kind: 'invalid' } as const;

      await tx.update(refreshTokens).set({ usedAt: new Date() }).where(eq(refreshTokens.id, found.tokenId));
      const expiresAt = this.refreshExpiry();
      await tx.update(sessions).set({ lastSeenAt: new Date(), expiresAt }).where(eq(sessions.id, found.sessionId));
      const tokens = await this.issuePair(tx, found.sessionId, found.user, found.amr, expiresAt);
      return { kind: 'rotated', tokens } as const;
    });
  }

  async revoke(db: Queryable, sessionId: string, reason: RevokeReason): Promise<void> {
    await db
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  }

  // The revoke* methods run inside the caller's transaction: the caller invalidates the session
  // cache (`principals.invalidate`) once that has committed.

  /** Revokes every live session of a user, except `keepSessionId` when given; answers how many. */
  async revokeAllForUser(db: Queryable, userId: string, reason: RevokeReason, keepSessionId?: string): Promise<number> {
    return this.revokeWhere(db, reason, and(eq(sessions.userId, userId), keepSessionId ? ne(sessions.id, keepSessionId) : undefined));
  }

  async countActive(): Promise<number> {
    const [row] = await this.db.select({ active: count() }).from(sessions).where(isLive());
    return row?.active ?? 0;
  }

  /** Revokes every live session of an organization's users (deactivated or deleted organization); answers how many. */
  async revokeAllForOrganization(db: Queryable, organizationId: string, reason: RevokeReason): Promise<number> {
    const members = db.select({ id: users.id }).from(users).where(eq(users.organizationId, organizationId));
    return this.revokeWhere(db, reason, inArray(sessions.userId, members));
  }

  /** Revokes every live session of every user: everyone logs in again. Answers how many. */
  async revokeAll(db: Queryable, reason: RevokeReason): Promise<number> {
    return this.revokeWhere(db, reason, undefined);
  }

  private async revokeWhere(db: Queryable, reason: RevokeReason, scope: SQL | undefined): Promise<number> {
    const revoked = await db.update(sessions).set({ revokedAt: new Date(), revokedReason: reason }).where(and(scope, isLive())).returning({ id: sessions.id });
    return revoked.length;
  }

  /**
   * Whether the user or their organization is deactivated (not deleted). Asked only for a token we
   * signed, whose holder already knows the account exists.
   */
  private async isDisabled(userId: string): Promise<boolean> {
    const [account] = await this.db
      .select({ userActive: users.isActive, organizationActive: organizations.isActive })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(and(eq(users.id, userId), isNull(users.deletedAt), isNull(organizations.deletedAt)));
    return account !== undefined && !(account.userActive && account.organizationActive);
  }

  /**
   * Verifies a bearer token (signature and expiry, every time) and that its session, user and
   * organization are all still live: from the session cache when it holds them, else the database.
   */
  async authenticate(token: string): Promise<Principal> {
    const claims = await this.accessTokens.verify(token);
    const cached = this.principals.lookup(claims.sid, claims.sub);
    if (cached) return cached;
    const version = this.principals.version;
    const [row] = await this.liveSession.execute({ sessionId: claims.sid, userId: claims.sub });
    if (!row) {
      if (await this.isDisabled(claims.sub)) throw AppError.unauthorized('account_disabled', ACCOUNT_DISABLED, 'invalid_token');
      throw AppError.unauthorized('session_ended', SESSION_ENDED, 'invalid_token');
    }
    const { permissions: granted, sessionExpiresAt, ...account } = row;
    const principal = { userId: claims.sub, sessionId: claims.sid, ...account, permissions: new Set(granted) };
    this.principals.store(principal, sessionExpiresAt, version);
    return principal;
  }
}
