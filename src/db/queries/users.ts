import { and, count, eq, isNull, ne, sql } from 'drizzle-orm';
import { SYSTEM_ROLE_IDS } from '../system-roles.js';
import type { Queryable } from '../client.js';
import { type UserRow, userRoles, users } from '../schema.js';

export const liveUsers = isNull(users.deletedAt);

/** What counts against an organization's `max_users`. */
export async function countLiveUsers(db: Queryable, organizationId: string): Promise<number> {
  const [row] = await db
    .select({ total: count() })
    .from(users)
    .where(and(eq(users.organizationId, organizationId), liveUsers));
  return row?.total ?? 0;
}

export async function findLiveUser(db: Queryable, userId: string, options: { lock?: boolean } = {}): Promise<UserRow | undefined> {
  const query = db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), liveUsers));
  const [user] = options.lock ? await query.for('update') : await query;
  return user;
}

/** Active Admins of an organization, optionally leaving one user out. */
export async function countActiveAdmins(db: Queryable, organizationId: string, excludingUserId?: string): Promise<number> {
  const [row] = await db
    .select({ total: count() })
    .from(userRoles)
    .innerJoin(users, eq(users.id, userRoles.userId))
    .where(
      and(
        eq(userRoles.roleId, SYSTEM_ROLE_IDS.admin),
        eq(users.organizationId, organizationId),
        eq(users.isActive, true),
        liveUsers,
        excludingUserId ? ne(users.id, excludingUserId) : undefined,
      ),
    );
  return row?.total ?? 0;
}

/** The live account with this email, in any organization (addresses are unique across the service). */
export async function findLiveUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const [user] = await db
    .select()
    .from(users)
    .where(and(sql`lower(${users.email}) = lower(${email})`, liveUsers));
  return user;
}
