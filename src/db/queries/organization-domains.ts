import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../client.js';
import { organizationDomains } from '../schema.js';

/** The organization that verified this (normalized) domain, if one has. */
export async function verifiedDomainOwner(db: Queryable, domain: string): Promise<string | undefined> {
  const [row] = await db
    .select({ organizationId: organizationDomains.organizationId })
    .from(organizationDomains)
    .where(and(eq(organizationDomains.domain, domain), eq(organizationDomains.status, 'verified')));
  return row?.organizationId;
}
