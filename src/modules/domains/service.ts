import { and, asc, eq } from 'drizzle-orm';
import type { EmailTokens } from '../../auth/email-tokens.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { type OrganizationDomainRow, organizationDomains } from '../../db/schema.js';
import type { DomainMail } from '../../mail/domain-mail.js';
import type { MailBudget } from '../../mail/mail-budget.js';
import type { OrganizationsService } from '../organizations/service.js';
import { challengeName, type DnsChallenges, holdsToken, newChallengeToken } from './dns-challenge.js';
import { assertAdministrativeAddress, claimedDomain, type ConsumerDomains } from './domain-names.js';

export type VerificationMethod = 'dns' | 'email';

export interface DomainClaimInput {
  domain: string;
  method: VerificationMethod;
  email?: string;
}

export interface DomainsDependencies {
  db: Database;
  organizations: OrganizationsService;
  audit: AuditLog;
  dns: DnsChallenges;
  consumerDomains: ConsumerDomains;
  domainMail: DomainMail;
  mailBudget: MailBudget;
  tokens: EmailTokens;
}

const NOT_FOUND = 'Domain not found';
const TOKEN_INVALID = 'This domain confirmation link is invalid, expired or already used; delete the claim and claim the domain again';

/**
 * Domains an organization claims and proves it controls, by a DNS TXT record or by a link mailed
 * to the domain's administrative address. A verified domain's addresses can then join no other
 * organization (core/address-ownership.ts), and home-realm discovery routes them to its owner.
 */
export class DomainsService {
  constructor(private readonly deps: DomainsDependencies) {}

  async claim(principal: Principal, organizationId: string, input: DomainClaimInput, meta: RequestMeta): Promise<OrganizationDomainRow> {
    const domain = claimedDomain(input.domain);
    if (this.deps.consumerDomains.includes(domain)) {
      throw AppError.validation('domain_consumer_provider', 'This is a public mail provider’s domain: its addresses belong to the public, so no organization can claim it', [
        { path: '/body/domain', message: 'is a public mail provider' },
      ]);
    }
    const email = this.verificationEmailOf(input, domain);
    // The mail budgets of password resets apply: a 429 past the client's, and past the address's
    // the claim stands but no further mail goes to that mailbox this hour.
    if (email !== null) await this.deps.mailBudget.spendClient(meta);
    const { claim, organizationName } = await withUniqueConflict('domain_already_claimed', () =>
      this.deps.db.transaction(async (tx) => {
        const organization = await this.deps.organizations.findVisible(tx, principal, organizationId);
        const [claim] = await tx
          .insert(organizationDomains)
          .values({
            organizationId: organization.id,
            domain,
            verificationMethod: input.method,
            dnsToken: input.method === 'dns' ? newChallengeToken() : null,
            verificationEmail: email,
          })
          .returning();
        if (!claim) throw new Error('domain insert returned no row');
        await this.record(tx, principal, meta, 'domain.claim', claim, { method: claim.verificationMethod });
        return { claim, organizationName: organization.name };
      }),
    );
    if (claim.verificationEmail !== null && (await this.deps.mailBudget.spendAddress(claim.verificationEmail, meta))) {
      await this.deps.domainMail.send(this.deps.db, { ...claim, verificationEmail: claim.verificationEmail }, organizationName);
    }
    return claim;
  }

  async list(principal: Principal, organizationId: string, page: PageRequest): Promise<Page<OrganizationDomainRow>> {
    await this.deps.organizations.findVisible(this.deps.db, principal, organizationId);
    const scope = eq(organizationDomains.organizationId, organizationId);
    return paginate(this.deps.db, organizationDomains, scope, [asc(organizationDomains.createdAt), asc(organizationDomains.id)], page);
  }

  get(principal: Principal, organizationId: string, domainId: string): Promise<OrganizationDomainRow> {
    return this.findVisible(this.deps.db, principal, organizationId, domainId);
  }

  async remove(principal: Principal, organizationId: string, domainId: string, meta: RequestMeta): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const claim = await this.findVisible(tx, principal, organizationId, domainId, { lock: true });
      await tx.delete(organizationDomains).where(eq(organizationDomains.id, claim.id));
      await this.record(tx, principal, meta, 'domain.delete', claim, { was_verified: claim.status === 'verified' });
    });
  }

  /** Checks the DNS TXT record now; a verified claim answers as it is. */
  async verifyByDns(principal: Principal, organizationId: string, domainId: string, meta: RequestMeta): Promise<OrganizationDomainRow> {
    const claim = await this.findVisible(this.deps.db, principal, organizationId, domainId);
    if (claim.status === 'verified') return claim;
    if (claim.dnsToken === null) {
      throw AppError.conflict('domain_verification_method_mismatch', 'This claim is verified by the link mailed to the domain, not by DNS');
    }
    // Outside any transaction: a slow resolver must not hold locks.
    const lookup = await this.deps.dns.lookup(claim.domain);
    if (lookup.kind === 'failed') {
      await this.recordFailure(principal.userId, meta, claim, 'dns_lookup_failed', { dns_error: lookup.code });
      throw AppError.unavailable('domain_dns_lookup_failed', 'The DNS lookup of the challenge record failed (no answer from the resolvers); try again later');
    }
    if (lookup.kind === 'absent' || !holdsToken(lookup.values, claim.dnsToken)) {
      const missing = lookup.kind === 'absent';
      await this.recordFailure(principal.userId, meta, claim, missing ? 'record_missing' : 'record_mismatch');
      const found = missing ? 'there is no TXT record at' : 'no TXT record holds the token at';
      throw AppError.conflict('domain_dns_record_mismatch', `Not verified: ${found} ${challengeName(claim.domain)}; publish dns_record and retry once it has propagated`);
    }
    return this.markVerified(principal.userId, meta, async (tx) => {
      // Locked and read again: it may have been deleted, or verified by a concurrent call, meanwhile.
      const [current] = await tx.select().from(organizationDomains).where(eq(organizationDomains.id, claim.id)).for('update');
      if (!current) throw AppError.notFound('domain_not_found', NOT_FOUND);
      return current;
    });
  }

  /** The public end of the mailed link: whoever reads the domain's administrative mailbox confirms the claim. */
  async confirmByEmail(token: string, meta: RequestMeta): Promise<OrganizationDomainRow> {
    return this.markVerified(null, meta, async (tx) => {
      const spent = await this.deps.tokens.spendForDomain(tx, token);
      const [claim] = spent ? await tx.select().from(organizationDomains).where(eq(organizationDomains.id, spent.organizationDomainId)).for('update') : [];
      if (claim?.status !== 'pending' || claim.verificationEmail !== spent?.email) {
        throw new AppError(400, 'domain_verification_token_invalid', TOKEN_INVALID);
      }
      return claim;
    });
  }

  /**
   * Marks the claim `load` finds (in the transaction) verified. The partial unique index lets one
   * organization hold a verified domain: a second gets 409, audited as a failure.
   */
  private async markVerified(actorUserId: string | null, meta: RequestMeta, load: (tx: Queryable) => Promise<OrganizationDomainRow>): Promise<OrganizationDomainRow> {
    let claim: OrganizationDomainRow | undefined;
    try {
      return await withUniqueConflict('domain_verified_elsewhere', () =>
        this.deps.db.transaction(async (tx) => {
          claim = await load(tx);
          if (claim.status === 'verified') return claim;
          const [verified] = await tx
            .update(organizationDomains)
            .set({ status: 'verified', verifiedAt: new Date(), updatedAt: new Date() })
            .where(eq(organizationDomains.id, claim.id))
            .returning();
          if (!verified) throw new Error('domain update returned no row');
          await this.deps.audit.record(tx, meta, {
            ...this.eventOf(verified, 'domain.verify', actorUserId),
            status: 'success',
            context: { domain: verified.domain, method: verified.verificationMethod },
          });
          return verified;
        }),
      );
    } catch (error) {
      if (error instanceof AppError && error.code === 'domain_verified_elsewhere' && claim) await this.recordFailure(actorUserId, meta, claim, 'verified_elsewhere');
      throw error;
    }
  }

  private verificationEmailOf(input: DomainClaimInput, domain: string): string | null {
    if (input.method === 'dns') {
      if (input.email !== undefined) {
        throw AppError.validation('domain_verification_email_invalid', 'email goes with verification_method email only', [
          { path: '/body/email', message: 'must be absent for dns' },
        ]);
      }
      return null;
    }
    if (input.email === undefined) {
      throw AppError.validation('domain_verification_email_invalid', 'verification_method email needs the address to mail the confirmation to', [
        { path: '/body/email', message: 'is required for email' },
      ]);
    }
    if (!this.deps.domainMail.enabled) throw AppError.forbidden('email_delivery_disabled', 'This service sends no mail (SMTP is not configured); verify the domain by DNS instead');
    assertAdministrativeAddress(input.email, domain);
    return input.email.trim().toLowerCase();
  }

  /** A claim of an organization the caller may see, found by both ids: anything else is a 404. */
  private async findVisible(db: Queryable, principal: Principal, organizationId: string, domainId: string, options: { lock?: boolean } = {}): Promise<OrganizationDomainRow> {
    await this.deps.organizations.findVisible(db, principal, organizationId);
    const query = db
      .select()
      .from(organizationDomains)
      .where(and(eq(organizationDomains.id, domainId), eq(organizationDomains.organizationId, organizationId)));
    const [claim] = options.lock ? await query.for('update') : await query;
    if (!claim) throw AppError.notFound('domain_not_found', NOT_FOUND);
    return claim;
  }

  private eventOf(claim: OrganizationDomainRow, eventType: string, actorUserId: string | null) {
    return { eventType, actorUserId, organizationId: claim.organizationId, resourceType: 'domain', resourceId: claim.id };
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, claim: OrganizationDomainRow, context: Record<string, unknown>) {
    return this.deps.audit.recordChange(
      db,
      meta,
      principal.userId,
      eventType,
      { type: 'domain', id: claim.id, organizationId: claim.organizationId },
      { domain: claim.domain, ...context },
    );
  }

  /** A refused verification, written on its own: the refusal rolls back whatever else the request did. */
  private recordFailure(actorUserId: string | null, meta: RequestMeta, claim: OrganizationDomainRow, reason: string, extra: Record<string, unknown> = {}) {
    return this.deps.audit.record(this.deps.db, meta, {
      ...this.eventOf(claim, 'domain.verify', actorUserId),
      status: 'failure',
      context: { domain: claim.domain, method: claim.verificationMethod, reason, ...extra },
    });
  }
}
