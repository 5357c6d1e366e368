import { sql } from 'drizzle-orm';
import type { TestServer } from './server.js';

// State only time can make (no API ages a row): named fixtures, the one place tests write SQL for it.

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** Moves a session's expiry (and its refresh tokens') into the past. */
export async function expireSessionDaysAgo(server: TestServer, sessionId: string, days: number): Promise<void> {
  await server.query(sql`update sessions set expires_at = ${daysAgo(days)}::timestamptz where id = ${sessionId}`);
  await server.query(sql`update refresh_tokens set expires_at = ${daysAgo(days)}::timestamptz where session_id = ${sessionId}`);
}

/** Dates a session's revocation back (the session must be revoked already, e.g. by logout). */
export async function revokedSessionDaysAgo(server: TestServer, sessionId: string, days: number): Promise<void> {
  await server.query(sql`update sessions set revoked_at = ${daysAgo(days)}::timestamptz where id = ${sessionId} and revoked_at is not null`);
}

/** Moves the expiry of every refresh token of the user's sessions a minute into the past (the sessions stay live). */
export async function expireRefreshTokensOf(server: TestServer, userId: string): Promise<void> {
  await server.query(sql`update refresh_tokens set expires_at = now() - interval '1 minute' where session_id in (select id from sessions where user_id = ${userId})`);
}

/** Dates one SAML AuthnRequest (by its id, the response's InResponseTo) as expired a second ago. */
export async function expireSamlRequest(server: TestServer, requestId: string): Promise<void> {
  await server.query(sql`update saml_requests set expires_at = now() - interval '1 second' where id = ${requestId}`);
}

/** Dates the SAML AuthnRequests of a configuration as expired. */
export async function expireSamlRequests(server: TestServer, ssoConfigurationId: string): Promise<void> {
  await server.query(sql`update saml_requests set expires_at = ${daysAgo(1)}::timestamptz where sso_configuration_id = ${ssoConfigurationId}`);
}

export async function expireCodeFlowLogins(server: TestServer, ssoConfigurationId: string): Promise<void> {
  await server.query(sql`update oidc_logins set expires_at = ${daysAgo(1)}::timestamptz where sso_configuration_id = ${ssoConfigurationId}`);
}

/** An audit row written `days` ago (audit rows cannot be updated, so an old one is inserted). */
export async function auditRowDaysAgo(server: TestServer, organizationId: string, days: number): Promise<string> {
  const [row] = await server.query<{ id: string }>(
    sql`insert into audit_logs (organization_id, event_type, status, created_at) values (${organizationId}, 'test.aged', 'success', ${daysAgo(days)}::timestamptz) returning id`,
  );
  return (row as { id: string }).id;
}

/** Dates every mailed link (reset, verification) of the user as expired a second ago. */
export async function expireMailedLinksOf(server: TestServer, userId: string): Promise<void> {
  await server.query(sql`update email_tokens set expires_at = now() - interval '1 second' where user_id = ${userId}`);
}

/** Ends the window of a shared rate-limit counter a second ago. */
export async function expireRateLimitCounter(server: TestServer, key: string): Promise<void> {
  await server.query(sql`update rate_limits set expire = now() - interval '1 second' where key = ${key}`);
}

/** Dates the confirmation link mailed for a domain claim as expired a second ago. */
export async function expireDomainConfirmation(server: TestServer, domainId: string): Promise<void> {
  await server.query(sql`update email_tokens set expires_at = now() - interval '1 second' where organization_domain_id = ${domainId}`);
}

/** Dates every MFA challenge of a user as expired a second ago. */
export async function expireMfaChallengesOf(server: TestServer, userId: string): Promise<void> {
  await server.query(sql`update mfa_challenges set expires_at = now() - interval '1 second' where user_id = ${userId}`);
}

/**
 * Lets `steps` TOTP periods (30 s each) pass since the user's last accepted code, as if they had
 * waited: without it a test could use only the current and the next code once each.
 */
export async function ageLastTotpStep(server: TestServer, userId: string, steps: number): Promise<void> {
  await server.query(sql`update mfa_totp_factors set last_used_step = last_used_step - ${steps} where user_id = ${userId}`);
}
