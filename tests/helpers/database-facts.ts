import { sql } from 'drizzle-orm';
import type { TestServer } from './server.js';

// Facts no API shows (what is stored, and how; row counts across the database; the refusals of
// the schema's own triggers). The one place tests read the database directly: everything else
// is checked through the API. Each function says why it has to be SQL.

/** Whether the user has a password hash at all (responses never mention one). */
export async function hasPassword(server: TestServer, userId: string): Promise<boolean | undefined> {
  const [row] = await server.query<{ has_password: boolean }>(sql`select password_hash is not null as has_password from users where id = ${userId}`);
  return row?.has_password;
}

/** The IdP subject an account is linked to, or null (the API shows only `sso_provider`). */
export async function ssoSubjectOf(server: TestServer, userId: string): Promise<string | null | undefined> {
  const [row] = await server.query<{ sso_subject_id: string | null }>(sql`select sso_subject_id from users where id = ${userId}`);
  return row?.sso_subject_id;
}

/** The distinct reasons the user's sessions were revoked with (no API lists sessions). */
export async function revokedReasonsOf(server: TestServer, userId: string): Promise<(string | null)[]> {
  const rows = await server.query<{ revoked_reason: string | null }>(sql`select distinct revoked_reason from sessions where user_id = ${userId}`);
  return rows.map((row) => row.revoked_reason);
}

/** Every session row of the database, of every organization (no API counts them). */
export async function countSessions(server: TestServer): Promise<number> {
  const [row] = await server.query<{ total: number }>(sql`select count(*)::int as total from sessions`);
  return row?.total ?? 0;
}

/** Whether a session row is still stored (a pruned session and a dead one look alike through the API). */
export async function sessionExists(server: TestServer, sessionId: string): Promise<boolean> {
  const [row] = await server.query<{ found: boolean }>(sql`select exists (select 1 from sessions where id = ${sessionId}) as found`);
  return row?.found ?? false;
}

/** Refresh tokens whose session is gone (pruning must take them along). */
export async function countOrphanRefreshTokens(server: TestServer): Promise<number> {
  const [row] = await server.query<{ count: number }>(sql`select count(*)::int as count from refresh_tokens where session_id not in (select id from sessions)`);
  return row?.count ?? 0;
}

/** The stored (sealed) OAuth client secret of an SSO configuration; the API answers only `has_client_secret`. */
export async function sealedClientSecret(server: TestServer, ssoConfigurationId: string): Promise<string | null | undefined> {
  const [row] = await server.query<{ sealed: string | null }>(sql`select oauth_client_secret_encrypted as sealed from sso_configurations where id = ${ssoConfigurationId}`);
  return row?.sealed;
}

/** A stored SAML AuthnRequest (what the ACS will check the response against), with its lifetime in seconds. */
export async function samlRequest(server: TestServer, requestId: string) {
  const [row] = await server.query<{ redirect_uri: string; sso_configuration_id: string; ttl: number; consumed_at: string | null }>(
    sql`select redirect_uri, sso_configuration_id, extract(epoch from expires_at - created_at)::int as ttl, consumed_at from saml_requests where id = ${requestId}`,
  );
  return row;
}

/** Stored SAML AuthnRequests, of one configuration or of the whole database. */
export async function countSamlRequests(server: TestServer, ssoConfigurationId?: string): Promise<number> {
  const [row] = await server.query<{ total: number }>(
    ssoConfigurationId
      ? sql`select count(*)::int as total from saml_requests where sso_configuration_id = ${ssoConfigurationId}`
      : sql`select count(*)::int as total from saml_requests`,
  );
  return row?.total ?? 0;
}

/** The keys of the stored throttle and rate-limit counters (what the database keeps about clients and accounts). */
export async function rateLimitKeys(server: TestServer): Promise<string[]> {
  const rows = await server.query<{ key: string }>(sql`select key from rate_limits`);
  return rows.map((row) => row.key);
}

/** Tries to delete an audit row as a database user could; the append-only trigger must refuse. */
export function deleteAuditRow(server: TestServer, auditId: string): Promise<unknown> {
  return server.query(sql`delete from audit_logs where id = ${auditId}`);
}

/** Tries to change an audit row as a database user could; the append-only trigger must refuse. */
export function updateAuditRow(server: TestServer, auditId: string): Promise<unknown> {
  return server.query(sql`update audit_logs set status = 'failure' where id = ${auditId}`);
}

/** The stored hashes of the user's mailed links, oldest first (no API shows them: the token itself must not be stored). */
export async function mailedTokenHashesOf(server: TestServer, userId: string): Promise<string[]> {
  const rows = await server.query<{ token_hash: string }>(sql`select token_hash from email_tokens where user_id = ${userId} order by created_at`);
  return rows.map((row) => row.token_hash);
}

/** The keys of the shared rate-limit counters (kept in the database without REDIS_URL) that start with `prefix`. */
export async function rateLimitCounterKeys(server: TestServer, prefix: string): Promise<string[]> {
  const rows = await server.query<{ key: string }>(sql`select key from rate_limits where starts_with(key, ${prefix}) order by key`);
  return rows.map((row) => row.key);
}

/** How many confirmation tokens a domain claim has stored (the API shows none). */
export async function countDomainTokens(server: TestServer, domainId: string): Promise<number> {
  const [row] = await server.query<{ total: number }>(sql`select count(*)::int as total from email_tokens where organization_domain_id = ${domainId}`);
  return row?.total ?? 0;
}

/** The OpenID Connect and OAuth logins started for a configuration and kept (`oidc_logins`), spent or not. */
export async function countCodeFlowLogins(server: TestServer, ssoConfigurationId: string): Promise<number> {
  const [row] = await server.query<{ total: number }>(sql`select count(*)::int as total from oidc_logins where sso_configuration_id = ${ssoConfigurationId}`);
  return row?.total ?? 0;
}
