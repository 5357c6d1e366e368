import { and, eq, isNull } from 'drizzle-orm';
import type { Queryable } from '../client.js';
import { type OrganizationRow, organizations } from '../schema.js';

export const liveOrganizations = isNull(organizations.deletedAt);

/** A live (not deleted) organization; locked, it serializes quota checks and last-Admin checks. */
export async function findLiveOrganization(db: Queryable, organizationId: string, options: { lock?: boolean } = {}): Promise<OrganizationRow | undefined> {
  const query = db
    .select()
    .from(organizations)
    .where(and(liveOrganizations, eq(organizations.id, organizationId)));
  const [organization] = options.lock ? await query.for('update') : await query;
  return organization;
}
