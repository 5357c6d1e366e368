import { asc, eq, inArray } from 'drizzle-orm';
import type { Queryable } from '../client.js';
import { permissions, type RoleRow, rolePermissions, userRoles } from '../schema.js';

export interface RoleWithPermissions extends RoleRow {
  permissions: string[];
}

/** Every permission a user's roles grant them, sorted. */
export async function permissionsOfUser(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ name: permissions.name })
    .from(userRoles)
    .innerJoin(rolePermissions, eq(rolePermissions.roleId, userRoles.roleId))
    .innerJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
    .where(eq(userRoles.userId, userId))
    .orderBy(asc(permissions.name));
  return rows.map((row) => row.name);
}

/** The roles with their permissions (sorted), in one query for all of them. */
export async function withPermissions(db: Queryable, rows: RoleRow[]): Promise<RoleWithPermissions[]> {
  if (rows.length === 0) return [];
  const grants = await db
    .select({ roleId: rolePermissions.roleId, name: permissions.name })
    .from(rolePermissions)
    .innerJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
    .where(
      inArray(
        rolePermissions.roleId,
        rows.map((role) => role.id),
      ),
    )
    .orderBy(asc(permissions.name));
  return rows.map((role) => ({ ...role, permissions: grants.filter((grant) => grant.roleId === role.id).map((grant) => grant.name) }));
}
