import { readFileSync } from 'node:fs';
import { emailDomain, normalizeDomain } from '../../core/email-domain.js';
import { AppError } from '../../core/errors.js';
import { CONSUMER_DOMAINS_FILE } from '../../package-files.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_LENGTH = 253;

/**
 * The mailboxes that speak for a domain, as the CA/Browser Forum's baseline requirements
 * (3.2.2.4.4) accept them for proving control of one: any other address at the domain belongs to
 * one person there (or a contractor), who must not be able to claim the company's domain.
 */
export const ADMINISTRATIVE_MAILBOXES = ['admin', 'administrator', 'hostmaster', 'postmaster', 'webmaster'] as const;

/** The public mail providers' domains (a data file shipped with the package): nobody may claim them or their subdomains. */
export class ConsumerDomains {
  private readonly domains: ReadonlySet<string>;

  constructor(domains: Iterable<string>) {
    this.domains = new Set(domains);
  }

  static bundled(): ConsumerDomains {
    const lines = readFileSync(CONSUMER_DOMAINS_FILE, 'utf8').split('\n');
    return new ConsumerDomains(lines.map((line) => line.replace(/#.*/, '').trim().toLowerCase()).filter((line) => line !== ''));
  }

  includes(domain: string): boolean {
    const labels = domain.split('.');
    return labels.some((_, index) => this.domains.has(labels.slice(index).join('.')));
  }
}

/**
 * The claimed domain as stored: IDNA to ASCII, lower case, no trailing dot; a host name of at
 * least two labels of letters, digits and inner hyphens, not an IP address. A claim covers that
 * exact name: a subdomain is a claim of its own.
 */
export function claimedDomain(raw: string): string {
  const domain = normalizeDomain(raw);
  const labels = domain.split('.');
  const valid = domain.length > 0 && domain.length <= MAX_LENGTH && labels.length >= 2 && labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels.at(-1) ?? '');
  if (!valid) {
    throw AppError.validation('domain_invalid', 'The domain must be a host name such as example.com (no scheme, path, port or IP address)', [
      { path: '/body/domain', message: 'must be a domain name' },
    ]);
  }
  return domain;
}

/** The confirmation address must be one of the domain's administrative mailboxes, at the domain itself. */
export function assertAdministrativeAddress(email: string, domain: string): void {
  const localPart = email.slice(0, email.lastIndexOf('@')).toLowerCase();
  const atDomain = normalizeDomain(emailDomain(email)) === domain;
  if (!atDomain || !(ADMINISTRATIVE_MAILBOXES as readonly string[]).includes(localPart)) {
    throw AppError.validation(
      'domain_verification_email_invalid',
      `The confirmation goes to an administrative address at the domain: ${ADMINISTRATIVE_MAILBOXES.join(', ')} @${domain}`,
      [{ path: '/body/email', message: `must be ${ADMINISTRATIVE_MAILBOXES.join('|')}@${domain}` }],
    );
  }
}
