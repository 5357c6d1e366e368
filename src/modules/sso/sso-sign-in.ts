import { and, eq, isNull } from 'drizzle-orm';
import type { PrincipalCache } from '../../auth/principal-cache.js';
import type { Sessions, TokenPair } from '../../auth/sessions.js';
import { addressAvailableTo } from '../../core/address-ownership.js';
import type { AuditLog } from '../../core/audit-log.js';
import { emailDomain } from '../../core/email-domain.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database, Queryable } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { countLiveUsers, findLiveUserByEmail } from '../../db/queries/users.js';
import { type OrganizationRow, organizations, type SsoConfigurationRow as SsoRow, type UserRow, userRoles, users } from '../../db/schema.js';
import { SYSTEM_ROLE_IDS } from '../../db/system-roles.js';

/** The single sign-on protocols that end in the same sign-in. */
export type SsoProtocol = 'saml' | 'oidc' | 'oauth';

/** Why a verified identity may not sign in; each protocol prefixes it into its problem code. */
export type SignInRejectionReason =
  | 'organization_inactive'
  | 'email_domain_not_allowed'
  | 'account_inactive'
  | 'email_in_other_organization'
  | 'linked_to_other_subject'
  | 'user_not_provisioned'
  | 'user_limit_reached'
  | 'account_conflict';

const IN_OTHER_ORGANIZATION = 'its email address belongs to an account outside this organization';

export class SignInRejection extends Error {
  constructor(
    readonly reason: SignInRejectionReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'SignInRejection';
  }
}

/** Who the identity provider vouches for, after its protocol's checks. */
export interface VerifiedIdentity {
  /**
   * The provider's own identifier (SAML entity id, OIDC issuer, the OAuth 2.0 userinfo URL), not
   * the configuration id: identities survive re-creating the configuration.
   */
  provider: string;
  /** The user's stable identifier at the provider (NameID, `sub`, the userinfo's `sub` or `id`). */
  subject: string;
  email: string;
  fullName: string;
}

export interface SsoSignInDependencies {
  db: Database;
  sessions: Sessions;
  principals: PrincipalCache;
  audit: AuditLog;
}

/**
 * The end every SSO login shares: the organization's rules, just-in-time provisioning and
 * subject-bound linking, the session, and the audit rows.
 */
export class SsoSignIn {
  constructor(private readonly dependencies: SsoSignInDependencies) {}

  /** Signs the identity in through the configuration; throws SignInRejection when the rules refuse it. */
  async signIn(config: SsoRow, identity: VerifiedIdentity, protocol: SsoProtocol, meta: RequestMeta): Promise<TokenPair> {
    try {
      const { tokens, userId } = await this.dependencies.db.transaction((tx) => this.signInWithin(tx, config, identity, protocol, meta));
      // The user's email may have followed the IdP's: their other sessions' principals hold the old one.
      await this.dependencies.principals.invalidate({ kind: 'user', id: userId });
      return tokens;
    } catch (err) {
      if (isUniqueViolation(err)) throw new SignInRejection('account_conflict', 'an account with this email was created at the same moment; sign in again');
      throw err;
    }
  }

  private async signInWithin(tx: Queryable, config: SsoRow, identity: VerifiedIdentity, protocol: SsoProtocol, meta: RequestMeta): Promise<{ tokens: TokenPair; userId: string }> {
    // Locked: first logins of one organization queue up behind its user quota.
    const [organization] = await tx.select().from(organizations).where(eq(organizations.id, config.organizationId)).for('update');
    if (!organization || organization.deletedAt || !organization.isActive) {
      throw new SignInRejection('organization_inactive', 'the organization is not active');
    }
    if (organization.allowedEmailDomains.length > 0 && !organization.allowedEmailDomains.includes(emailDomain(identity.email))) {
      throw new SignInRejection('email_domain_not_allowed', 'the email address’s domain is not one the organization allows');
    }
    const { user, provisioned } = await this.findOrProvision(tx, config, organization, identity, protocol, meta);
    if (!user.isActive) throw new SignInRejection('account_inactive', 'the account is disabled');
    await tx.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id));
    const tokens = await this.dependencies.sessions.start(tx, user, protocol, ['ext'], meta);
    await this.dependencies.audit.record(tx, meta, {
      eventType: 'auth.sso_login',
      status: 'success',
      organizationId: organization.id,
      actorUserId: user.id,
      resourceType: 'sso_configuration',
      resourceId: config.id,
      context: { method: protocol, provisioned },
    });
    return { tokens, userId: user.id };
  }

  /** The user by provider identity, else by email within the organization (linked now), else created when allowed. */
  private async findOrProvision(
    tx: Queryable,
    config: SsoRow,
    organization: OrganizationRow,
    { provider, subject, email, fullName }: VerifiedIdentity,
    protocol: SsoProtocol,
    meta: RequestMeta,
  ): Promise<{ user: UserRow; provisioned: boolean }> {
    const [linked] = await tx
      .select()
      .from(users)
      .where(and(eq(users.organizationId, organization.id), eq(users.ssoProvider, provider), eq(users.ssoSubjectId, subject), isNull(users.deletedAt)));
    if (linked) return { user: await this.followIdentityProviderEmail(tx, linked, email), provisioned: false };

    const byEmail = await findLiveUserByEmail(tx, email);
    if (byEmail) {
      if (byEmail.organizationId !== organization.id) throw new SignInRejection('email_in_other_organization', IN_OTHER_ORGANIZATION);
      if (byEmail.ssoProvider === provider && byEmail.ssoSubjectId !== null) {
        throw new SignInRejection('linked_to_other_subject', 'the account with this email is linked to another user of this identity provider');
      }
      const [user] = await tx.update(users).set({ ssoProvider: provider, ssoSubjectId: subject, updatedAt: new Date() }).where(eq(users.id, byEmail.id)).returning();
      return { user: user as UserRow, provisioned: false };
    }

    if (!config.autoCreateUsers) {
      throw new SignInRejection('user_not_provisioned', 'no account exists for this user and the configuration does not create accounts');
    }
    if ((await countLiveUsers(tx, organization.id)) >= organization.maxUsers) {
      throw new SignInRejection('user_limit_reached', 'the organization has reached its user limit');
    }
    // Another organization verified the address's domain: refused exactly as an address taken there.
    if (!(await addressAvailableTo(tx, email, organization.id))) throw new SignInRejection('email_in_other_organization', IN_OTHER_ORGANIZATION);
    const [user] = await tx
      .insert(users)
      .values({ organizationId: organization.id, email, fullName, passwordHash: null, isVerified: true, ssoProvider: provider, ssoSubjectId: subject })
      .returning();
    if (!user) throw new Error('user insert returned no row');
    const roleId = config.defaultRoleId ?? SYSTEM_ROLE_IDS.member;
    await tx.insert(userRoles).values({ userId: user.id, roleId });
    await this.dependencies.audit.record(tx, meta, {
      eventType: 'user.create',
      status: 'success',
      organizationId: organization.id,
      actorUserId: user.id,
      resourceType: 'user',
      resourceId: user.id,
      context: { via: protocol, sso_configuration_id: config.id, role_id: roleId },
    });
    return { user, provisioned: true };
  }

  /**
   * The audit row of a refused login, whatever refused it (the protocol's checks or these rules);
   * `organizationId` is null when the configuration id names none.
   */
  async recordRejection(protocol: SsoProtocol, configId: string, organizationId: string | null, reason: string, meta: RequestMeta): Promise<void> {
    await this.dependencies.audit.record(this.dependencies.db, meta, {
      eventType: 'auth.sso_login',
      status: 'failure',
      organizationId,
      resourceType: 'sso_configuration',
      resourceId: configId,
      context: { method: protocol, reason },
    });
  }

  /**
   * A linked user's email is the provider's: it follows the login, unless another account has the
   * new address or another organization verified its domain (then the old one stays; the link,
   * bound to the subject, never moves).
   */
  private async followIdentityProviderEmail(tx: Queryable, user: UserRow, email: string): Promise<UserRow> {
    if (user.email.toLowerCase() === email.toLowerCase()) return user;
    if ((await findLiveUserByEmail(tx, email)) || !(await addressAvailableTo(tx, email, user.organizationId))) return user;
    const [updated] = await tx.update(users).set({ email, updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
    return updated ?? user;
  }
}
