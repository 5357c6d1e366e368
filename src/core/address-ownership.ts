import type { Queryable } from '../db/client.js';
import { verifiedDomainOwner } from '../db/queries/organization-domains.js';
import { emailAsciiDomain } from './email-domain.js';
import { conflictError } from './unique-conflict.js';

/** Whether a new account with this address may belong to the organization: no other organization verified its domain. */
export async function addressAvailableTo(db: Queryable, email: string, organizationId: string): Promise<boolean> {
  const owner = await verifiedDomainOwner(db, emailAsciiDomain(email));
  return owner === undefined || owner === organizationId;
}

/**
 * Refuses an address whose domain another organization verified, with exactly the 409 of an
 * address already taken: the answer must not tell which domains are claimed, and for the caller
 * the address is as unavailable as a registered one.
 */
export async function assertAddressAvailableTo(db: Queryable, email: string, organizationId: string): Promise<void> {
  if (!(await addressAvailableTo(db, email, organizationId))) throw conflictError('user_email_taken');
}
