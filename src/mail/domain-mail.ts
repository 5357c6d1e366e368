import { EMAIL_TOKEN_TTL_SECONDS, type EmailTokens } from '../auth/email-tokens.js';
import type { MailConfig } from '../config/index.js';
import type { Queryable } from '../db/client.js';
import { LINK_PATHS } from './account-mail.js';
import type { Mailer } from './mailer.js';

/** The claim a confirmation mail is about. */
export interface DomainClaim {
  id: string;
  domain: string;
  verificationEmail: string;
}

/**
 * The mail that proves an organization controls a domain: a single-use link to an administrative
 * address at the domain. Whoever reads that mailbox confirms the claim (the link opens the web
 * app's `/verify-domain` page, which posts the token), signed in or not.
 */
export class DomainMail {
  constructor(
    private readonly tokens: EmailTokens,
    private readonly mailer: Mailer,
    private readonly config: Pick<MailConfig, 'appBaseUrl'>,
  ) {}

  get enabled(): boolean {
    return this.mailer.enabled;
  }

  /** Writes the token with `db` (the caller's transaction) and posts the mail; call after the rest of the work succeeded. */
  async send(db: Queryable, claim: DomainClaim, organizationName: string): Promise<void> {
    if (!this.mailer.enabled) return;
    const token = await this.tokens.issueForDomain(db, claim.id, claim.verificationEmail);
    const link = `${this.config.appBaseUrl}${LINK_PATHS.domain_verification}#token=${token}`;
    const days = EMAIL_TOKEN_TTL_SECONDS.domain_verification / 86_400;
    this.mailer.post({
      kind: 'domain_verification',
      to: claim.verificationEmail,
      subject: `Confirm that ${organizationName} owns ${claim.domain}`,
      text: [
        'Hello,',
        '',
        `The organization "${organizationName}" claims the domain ${claim.domain}. Once confirmed, accounts with addresses at`,
        `${claim.domain} can be created only in that organization, and its single sign-on handles them.`,
        '',
        'If you administer this domain and agree, open this link:',
        '',
        link,
        '',
        `The link works once, for ${days} days. If you do not know this organization, ignore this mail: nothing changes.`,
      ].join('\n'),
    });
  }
}
