import type { EmailTokenPurpose, EmailTokens, UserTokenPurpose } from '../auth/email-tokens.js';
import { EMAIL_TOKEN_TTL_SECONDS } from '../auth/email-tokens.js';
import type { MailConfig } from '../config/index.js';
import type { Queryable } from '../db/client.js';
import type { UserRow } from '../db/schema.js';
import type { Mailer, MailMessage } from './mailer.js';

/** The web app's pages the links open; each reads `token` from the URL fragment. */
export const LINK_PATHS: Readonly<Record<EmailTokenPurpose, string>> = {
  password_reset: '/reset-password',
  email_verification: '/verify-email',
  invitation: '/accept-invitation',
  domain_verification: '/verify-domain',
};

type Recipient = Pick<UserRow, 'id' | 'email' | 'fullName'>;

/** What an invitation names: the organization, and who invited. */
export interface InvitationDetails {
  organizationName: string;
  inviterName: string;
}

function compose(purpose: UserTokenPurpose, user: Recipient, link: string, invitation?: InvitationDetails): Omit<MailMessage, 'kind' | 'to'> {
  const hours = EMAIL_TOKEN_TTL_SECONDS[purpose] / 3600;
  const validity = hours === 1 ? 'one hour' : hours % 24 === 0 ? `${hours / 24} days` : `${hours} hours`;
  if (purpose === 'invitation') {
    const { organizationName, inviterName } = invitation ?? { organizationName: 'an organization', inviterName: 'An administrator' };
    return {
      subject: `You are invited to ${organizationName}`,
      text: [
        `Hello ${user.fullName},`,
        '',
        `${inviterName} invited you to join ${organizationName}. To accept, choose your password here:`,
        '',
        link,
        '',
        `The link works once, for ${validity}. If you did not expect this, ignore this mail.`,
      ].join('\n'),
    };
  }
  if (purpose === 'password_reset') {
    return {
      subject: 'Reset your password',
      text: [
        `Hello ${user.fullName},`,
        '',
        'Someone, hopefully you, asked to reset the password of your account. To choose a new one, open this link:',
        '',
        link,
        '',
        `The link works once, for ${validity}. Setting a new password signs you out everywhere.`,
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
    };
  }
  return {
    subject: 'Confirm your email address',
    text: [
      `Hello ${user.fullName},`,
      '',
      'Please confirm that this is your email address by opening this link:',
      '',
      link,
      '',
      `The link works once, for ${validity}. If you did not create an account, ignore this mail.`,
    ].join('\n'),
  };
}

/**
 * Issues a link's token and mails the link. The token travels in the URL fragment: browsers send
 * no fragment to servers, so it appears in no access log, proxy log or Referer header.
 */
export class AccountMail {
  constructor(
    private readonly tokens: EmailTokens,
    private readonly mailer: Mailer,
    private readonly config: Pick<MailConfig, 'appBaseUrl'>,
  ) {}

  get enabled(): boolean {
    return this.mailer.enabled;
  }

  /**
   * Tells the owner of an address that someone tried to register with it (the registration's
   * answer does not say so when verified addresses are required). It carries no token: the way
   * back into the account is the password reset, asked for on its page.
   */
  noticeRegistrationAttempt(owner: Pick<UserRow, 'email' | 'fullName'>): void {
    if (!this.mailer.enabled) return;
    this.mailer.post({
      kind: 'registration_attempt',
      to: owner.email,
      subject: 'Someone tried to register with your email address',
      text: [
        `Hello ${owner.fullName},`,
        '',
        'Someone, perhaps you, tried to create a new account with this email address, which already has an account with us.',
        'No new account was created, and yours is unchanged.',
        '',
        `If you forgot your password, choose a new one here: ${this.config.appBaseUrl}${LINK_PATHS.password_reset}`,
        'If it was not you, ignore this mail.',
      ].join('\n'),
    });
  }

  /** Writes the token with `db` (the caller's transaction) and posts the mail; call after the rest of the work succeeded. */
  async send(db: Queryable, purpose: UserTokenPurpose, user: Recipient, invitation?: InvitationDetails): Promise<void> {
    if (!this.mailer.enabled) return;
    const token = await this.tokens.issue(db, user.id, purpose, user.email);
    const link = `${this.config.appBaseUrl}${LINK_PATHS[purpose]}#token=${token}`;
    this.mailer.post({ kind: purpose, to: user.email, ...compose(purpose, user, link, invitation) });
  }
}
