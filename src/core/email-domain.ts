/** The domain of an email address, lower-cased as `allowed_email_domains` stores domains. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
