import { domainToASCII } from 'node:url';

/** The domain of an email address, lower-cased as `allowed_email_domains` stores domains. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * A domain name as verified domains store and compare it: IDNA to ASCII (`bücher.example` is
 * `xn--bcher-kva.example`), lower case, without the root's trailing dot. '' when it is not a host
 * name at all.
 */
export function normalizeDomain(name: string): string {
  return domainToASCII(name.trim().replace(/\.$/, ''));
}

/** The normalized domain of an email address, as verified domains are looked up. */
export function emailAsciiDomain(email: string): string {
  const domain = emailDomain(email);
  return normalizeDomain(domain) || domain;
}
