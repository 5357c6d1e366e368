import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, inet, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const id = () => uuid('id').primaryKey().defaultRandom();
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => timestamptz('created_at').notNull().defaultNow();
const updatedAt = () => timestamptz('updated_at').notNull().defaultNow();

export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    plan: text('plan').notNull().default('trial'),
    contactEmail: text('contact_email'),
    contactName: text('contact_name'),
    maxUsers: integer('max_users').notNull().default(25),
    maxTeams: integer('max_teams').notNull().default(10),
    allowedEmailDomains: text('allowed_email_domains')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    // Password logins of its users need a second factor; those without one must enrol first.
    requireMfa: boolean('require_mfa').notNull().default(false),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    uniqueIndex('organizations_slug_live_uq')
      .on(t.slug)
      .where(sql`${t.deletedAt} is null`),
    check('organizations_plan_ck', sql`${t.plan} in ('trial', 'starter', 'professional', 'enterprise')`),
    check('organizations_quotas_ck', sql`${t.maxUsers} >= 1 and ${t.maxTeams} >= 1`),
  ],
);

export const teams = pgTable(
  'teams',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    description: text('description'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    uniqueIndex('teams_org_slug_live_uq')
      .on(t.organizationId, t.slug)
      .where(sql`${t.deletedAt} is null`),
    index('teams_org_created_idx').on(t.organizationId, t.createdAt, t.id),
  ],
);

export const users = pgTable(
  'users',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    // A deleted team leaves its members without a team rather than deleting them.
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'set null' }),
    email: text('email').notNull(),
    fullName: text('full_name').notNull(),
    // Null for SSO-only users: they cannot log in with a password.
    passwordHash: text('password_hash'),
    isActive: boolean('is_active').notNull().default(true),
    isVerified: boolean('is_verified').notNull().default(false),
    isSuperadmin: boolean('is_superadmin').notNull().default(false),
    ssoProvider: text('sso_provider'),
    ssoSubjectId: text('sso_subject_id'),
    lastLoginAt: timestamptz('last_login_at'),
    passwordChangedAt: timestamptz('password_changed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    uniqueIndex('users_email_live_uq')
      .on(sql`lower(${t.email})`)
      .where(sql`${t.deletedAt} is null`),
    uniqueIndex('users_sso_subject_uq')
      .on(t.organizationId, t.ssoProvider, t.ssoSubjectId)
      .where(sql`${t.ssoSubjectId} is not null and ${t.deletedAt} is null`),
    index('users_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    // Lists and quota counts read live users only: without deleted_at in the index, counting a large organization visits every row.
    index('users_org_live_created_idx')
      .on(t.organizationId, t.createdAt, t.id)
      .where(sql`${t.deletedAt} is null`),
    index('users_team_idx').on(t.teamId),
  ],
);

export const permissions = pgTable('permissions', {
  id: id(),
  name: text('name').notNull().unique(),
  description: text('description').notNull(),
});

export const roles = pgTable(
  'roles',
  {
    id: id(),
    // Null for the system roles (Admin, Member, Viewer) every organization shares.
    organizationId: uuid('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    isSystem: boolean('is_system').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('roles_system_name_uq')
      .on(sql`lower(${t.name})`)
      .where(sql`${t.organizationId} is null`),
    uniqueIndex('roles_org_name_uq')
      .on(t.organizationId, sql`lower(${t.name})`)
      .where(sql`${t.organizationId} is not null`),
    check('roles_system_scope_ck', sql`${t.isSystem} = (${t.organizationId} is null)`),
  ],
);

export const rolePermissions = pgTable(
  'role_permissions',
  {
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    permissionId: uuid('permission_id')
      .notNull()
      .references(() => permissions.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.roleId, t.permissionId] })],
);

export const userRoles = pgTable(
  'user_roles',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    assignedAt: timestamptz('assigned_at').notNull().defaultNow(),
    assignedBy: uuid('assigned_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.roleId] }), index('user_roles_role_idx').on(t.roleId)],
);

export const ssoConfigurations = pgTable(
  'sso_configurations',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    providerType: text('provider_type').notNull(),
    providerName: text('provider_name').notNull(),
    isEnabled: boolean('is_enabled').notNull().default(true),
    samlEntityId: text('saml_entity_id'),
    samlSsoUrl: text('saml_sso_url'),
    samlSloUrl: text('saml_slo_url'),
    samlX509Cert: text('saml_x509_cert'),
    samlNameIdFormat: text('saml_name_id_format'),
    oauthClientId: text('oauth_client_id'),
    // AES-256-GCM ciphertext; the plaintext secret is never stored or returned.
    oauthClientSecretEncrypted: text('oauth_client_secret_encrypted'),
    oauthAuthorizationUrl: text('oauth_authorization_url'),
    oauthTokenUrl: text('oauth_token_url'),
    oauthUserinfoUrl: text('oauth_userinfo_url'),
    oauthScopes: text('oauth_scopes').array(),
    oidcDiscoveryUrl: text('oidc_discovery_url'),
    attributeMapping: jsonb('attribute_mapping').$type<Record<string, string>>().notNull().default({}),
    autoCreateUsers: boolean('auto_create_users').notNull().default(false),
    defaultRoleId: uuid('default_role_id').references(() => roles.id, { onDelete: 'set null' }),
    allowIdpInitiated: boolean('allow_idp_initiated').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('sso_configurations_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    check('sso_configurations_provider_type_ck', sql`${t.providerType} in ('saml', 'oidc', 'oauth')`),
  ],
);

// The AuthnRequests this service sent, so that a response is accepted only in answer to one of
// them, once, while it is fresh (saml2-js does not check InResponseTo).
export const samlRequests = pgTable(
  'saml_requests',
  {
    id: text('id').primaryKey(),
    ssoConfigurationId: uuid('sso_configuration_id')
      .notNull()
      .references(() => ssoConfigurations.id, { onDelete: 'cascade' }),
    redirectUri: text('redirect_uri').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
    consumedAt: timestamptz('consumed_at'),
  },
  (t) => [index('saml_requests_expires_idx').on(t.expiresAt)],
);

// Assertion ids already accepted, kept until the assertion would have expired anyway: a replayed
// assertion (IdP-initiated ones carry no request id to spend) is refused.
export const samlAssertions = pgTable(
  'saml_assertions',
  {
    ssoConfigurationId: uuid('sso_configuration_id')
      .notNull()
      .references(() => ssoConfigurations.id, { onDelete: 'cascade' }),
    assertionId: text('assertion_id').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ssoConfigurationId, t.assertionId] }), index('saml_assertions_expires_idx').on(t.expiresAt)],
);

// The OpenID Connect and plain OAuth 2.0 logins this service started, found by the SHA-256 of their
// `state`: the callback is accepted once, while fresh, and gets back the PKCE verifier (and, for
// OpenID Connect, the nonce) it needs. Which protocol a row is for is its configuration's type.
export const oidcLogins = pgTable(
  'oidc_logins',
  {
    stateHash: text('state_hash').primaryKey(),
    ssoConfigurationId: uuid('sso_configuration_id')
      .notNull()
      .references(() => ssoConfigurations.id, { onDelete: 'cascade' }),
    // Null for plain OAuth 2.0 logins (no ID token, so nothing to bind a nonce to).
    nonce: text('nonce'),
    codeVerifier: text('code_verifier').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
    consumedAt: timestamptz('consumed_at'),
  },
  (t) => [index('oidc_logins_expires_idx').on(t.expiresAt)],
);

export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    authMethod: text('auth_method').notNull(),
    // RFC 8176 methods of the login that started the session: every access token of the session carries them.
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    ipAddress: inet('ip_address'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
    lastSeenAt: timestamptz('last_seen_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    revokedAt: timestamptz('revoked_at'),
    revokedReason: text('revoked_reason'),
  },
  (t) => [
    index('sessions_user_idx').on(t.userId),
    // What the retention job looks for: sessions past their expiry or revoked long ago.
    index('sessions_expires_idx').on(t.expiresAt),
    index('sessions_revoked_idx')
      .on(t.revokedAt)
      .where(sql`${t.revokedAt} is not null`),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    // SHA-256 of the opaque token, hex: the token itself is never stored.
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

// A domain an organization claims. Verified by at most one organization (the partial unique
// index); pending claims of the same domain by several organizations may coexist. The DNS token
// is the TXT record's public value, so it is stored as is and shown to the organization.
export const organizationDomains = pgTable(
  'organization_domains',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    domain: text('domain').notNull(),
    status: text('status').notNull().default('pending'),
    verificationMethod: text('verification_method').notNull(),
    dnsToken: text('dns_token'),
    verificationEmail: text('verification_email'),
    verifiedAt: timestamptz('verified_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('organization_domains_org_domain_uq').on(t.organizationId, t.domain),
    uniqueIndex('organization_domains_verified_uq')
      .on(t.domain)
      .where(sql`${t.status} = 'verified'`),
    index('organization_domains_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    check('organization_domains_status_ck', sql`${t.status} in ('pending', 'verified')`),
    check('organization_domains_method_ck', sql`${t.verificationMethod} in ('dns', 'email')`),
    check(
      'organization_domains_method_fields_ck',
      sql`(${t.verificationMethod} = 'dns') = (${t.dnsToken} is not null) and (${t.verificationMethod} = 'email') = (${t.verificationEmail} is not null)`,
    ),
    check('organization_domains_verified_at_ck', sql`(${t.status} = 'verified') = (${t.verifiedAt} is not null)`),
  ],
);

// Single-use links sent by mail (password reset, email verification, invitation to a user; a
// domain claim's confirmation to an address at the domain): only the SHA-256 of the token is
// stored. `email` is the address the link went to, so a link stops working once the user's
// address changes.
export const emailTokens = pgTable(
  'email_tokens',
  {
    id: id(),
    // Exactly one of the two: a user's link, or a domain claim's.
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    organizationDomainId: uuid('organization_domain_id').references(() => organizationDomains.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    email: text('email').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
  },
  (t) => [
    index('email_tokens_user_idx').on(t.userId, t.purpose),
    index('email_tokens_expires_idx').on(t.expiresAt),
    index('email_tokens_domain_idx').on(t.organizationDomainId),
    check('email_tokens_purpose_ck', sql`${t.purpose} in ('password_reset', 'email_verification', 'invitation', 'domain_verification')`),
    check(
      'email_tokens_owner_ck',
      sql`(${t.purpose} = 'domain_verification') = (${t.organizationDomainId} is not null) and (${t.userId} is null) = (${t.organizationDomainId} is not null)`,
    ),
  ],
);

// A user's TOTP authenticator: pending until a code confirms it, one per user. The secret is
// sealed (AES-256-GCM); last_used_step is the time step of the last accepted code, so a code is
// never accepted twice.
export const mfaTotpFactors = pgTable('mfa_totp_factors', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  secretSealed: text('secret_sealed').notNull(),
  confirmedAt: timestamptz('confirmed_at'),
  lastUsedStep: integer('last_used_step'),
  createdAt: createdAt(),
});

// Single-use recovery codes, as SHA-256 of their normalized text.
export const mfaRecoveryCodes = pgTable(
  'mfa_recovery_codes',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: timestamptz('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('mfa_recovery_codes_user_idx').on(t.userId)],
);

// What a password login answers instead of tokens when a second factor is due: the opaque token
// is kept as SHA-256 only, works once, expires, and dies after a few wrong codes.
export const mfaChallenges = pgTable(
  'mfa_challenges',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    // 'verify': answer with a code; 'enrol': the organization requires MFA and the user has no factor yet.
    purpose: text('purpose').notNull(),
    // The WebAuthn challenge of the latest passkey options asked for with this challenge (base64url).
    webauthnChallenge: text('webauthn_challenge'),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
    consumedAt: timestamptz('consumed_at'),
  },
  (t) => [
    index('mfa_challenges_user_idx').on(t.userId),
    index('mfa_challenges_expires_idx').on(t.expiresAt),
    check('mfa_challenges_purpose_ck', sql`${t.purpose} in ('verify', 'enrol')`),
  ],
);

// Passkeys (WebAuthn credentials) as a second factor. The public key is COSE-encoded, as the
// authenticator made it; the signature counter only ever grows for an authenticator that keeps one
// (synced passkeys report 0), so a smaller one means a cloned authenticator.
export const webauthnCredentials = pgTable(
  'webauthn_credentials',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    credentialId: text('credential_id').notNull().unique(),
    publicKey: text('public_key').notNull(),
    signCount: bigint('sign_count', { mode: 'number' }).notNull().default(0),
    transports: text('transports')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    name: text('name').notNull(),
    deviceType: text('device_type').notNull(),
    backedUp: boolean('backed_up').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamptz('last_used_at'),
  },
  (t) => [index('webauthn_credentials_user_idx').on(t.userId), check('webauthn_credentials_device_type_ck', sql`${t.deviceType} in ('single_device', 'multi_device')`)],
);

// A passkey registration under way: the challenge of the options last asked for, one per user.
export const webauthnRegistrations = pgTable(
  'webauthn_registrations',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    challenge: text('challenge').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [index('webauthn_registrations_expires_idx').on(t.expiresAt)],
);

// Counters of rate-limiter-flexible (login lockouts, spraying, public endpoints) when no Redis is
// configured: one row per key, counting points until `expire`. Keys carry hashes of emails, never
// addresses, and client IPs.
export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    points: integer('points').notNull().default(0),
    expire: timestamptz('expire'),
  },
  (t) => [index('rate_limits_expire_idx').on(t.expire)],
);

// Append-only (a trigger refuses UPDATE and DELETE). No foreign keys: the trail must
// outlive the rows it talks about.
export const auditLogs = pgTable(
  'audit_logs',
  {
    id: id(),
    organizationId: uuid('organization_id'),
    actorUserId: uuid('actor_user_id'),
    eventType: text('event_type').notNull(),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    status: text('status').notNull(),
    ipAddress: inet('ip_address'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    context: jsonb('context').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    // One per filter of GET /audit-logs, each in the list's newest-first order.
    // (`desc` sorts nulls first in PostgreSQL: an index must too, or the newest-first list cannot use it.)
    index('audit_logs_org_created_idx').on(t.organizationId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('audit_logs_created_idx').on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('audit_logs_actor_created_idx').on(t.actorUserId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('audit_logs_event_type_created_idx').on(t.eventType, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    check('audit_logs_status_ck', sql`${t.status} in ('success', 'failure', 'denied')`),
  ],
);

export const schema = {
  organizations,
  teams,
  users,
  permissions,
  roles,
  rolePermissions,
  userRoles,
  ssoConfigurations,
  sessions,
  refreshTokens,
  organizationDomains,
  emailTokens,
  mfaTotpFactors,
  mfaRecoveryCodes,
  mfaChallenges,
  webauthnCredentials,
  webauthnRegistrations,
  rateLimits,
  auditLogs,
};

export type OrganizationRow = typeof organizations.$inferSelect;
export type TeamRow = typeof teams.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export type SsoConfigurationRow = typeof ssoConfigurations.$inferSelect;
export type OidcLoginRow = typeof oidcLogins.$inferSelect;
export type EmailTokenRow = typeof emailTokens.$inferSelect;
export type OrganizationDomainRow = typeof organizationDomains.$inferSelect;
export type AuditLogRow = typeof auditLogs.$inferSelect;
