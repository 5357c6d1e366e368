import { domainToASCII } from 'node:url';

/** The domain of an email address, lower-cased as `allowed_email_domains` stores domains. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

const URL_SYNTAX = /[/?#%\\@:[\]\s]/;

/**
 * A domain name as verified domains store and compare it: IDNA to ASCII (`bücher.example` is
 * `xn--bcher-kva.example`), lower case, without the root's trailing dot. '' when it is not a host
 * name at all.
 */
export function normalizeDomain(name: string): string {
  const trimmed = name.trim().replace(/\.$/, '');
  // domainToASCII parses a URL's host: it would drop a path, query or fragment and decode percent escapes.
  return URL_SYNTAX.test(trimmed) ? '' : domainToASCII(trimmed);
}

/** The normalized domain of an email address, as verified domains are looked up. */
export function emailAsciiDomain(email: string): string {
  const domain = emailDomain(email);
  return normalizeDomain(domain) || domain;
}
