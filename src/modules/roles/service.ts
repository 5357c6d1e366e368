import { and, asc, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Invalidation, PrincipalCache } from '../../auth/principal-cache.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Permission } from '../../core/permissions.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { type RoleWithPermissions, withPermissions } from '../../db/queries/roles.js';
import { permissions, type RoleRow, rolePermissions, roles } from '../../db/schema.js';

export type { RoleWithPermissions } from '../../db/queries/roles.js';

export interface RoleInput {
  name: string;
  description?: string;
  permissions: Permission[];
}

export interface RoleChanges {
  name?: string;
  description?: string | null;
  permissions?: Permission[];
}

export interface RolesDependencies {
  db: Database;
  access: AccessControl;
  principals: PrincipalCache;
  audit: AuditLog;
}

const NOT_FOUND = 'Role not found';

/**
 * Whose cached permissions a change to the role may have made stale: its organization's users (a
 * custom role is held only there), or everyone's for a system role. Finer (its holders) would
 * cost a query for a rare change.
 */
function holdersOf(role: Pick<RoleRow, 'organizationId'>): Invalidation {
  return role.organizationId === null ? { kind: 'all' } : { kind: 'organization', id: role.organizationId };
}

export class RolesService {
  private readonly db: Database;
  private readonly access: AccessControl;
  private readonly principals: PrincipalCache;
  private readonly audit: AuditLog;

  constructor({ db, access, principals, audit }: RolesDependencies) {
    this.db = db;
    this.access = access;
    this.principals = principals;
    this.audit = audit;
  }

  async list(principal: Principal, page: PageRequest): Promise<Page<RoleWithPermissions>> {
    const scope = or(isNull(roles.organizationId), eq(roles.organizationId, principal.organizationId));
    const { items, total } = await paginate(this.db, roles, scope, [desc(roles.isSystem), asc(roles.createdAt), asc(roles.id)], page);
    return { items: await withPermissions(this.db, items), total };
  }

  create(principal: Principal, input: RoleInput, meta: RequestMeta): Promise<RoleWithPermissions> {
    this.assertCanGrant(principal, input.permissions);
    return withUniqueConflict('role_name_taken', () =>
      this.db.transaction(async (tx) => {
        await this.assertNotSystemName(tx, input.name);
        const [role] = await tx
          .insert(roles)
          .values({ organizationId: principal.organizationId, name: input.name.trim(), description: input.description ?? null })
          .returning();
        if (!role) throw new Error('role insert returned no row');
        await this.grant(tx, role.id, input.permissions);
        await this.record(tx, principal, meta, 'role.create', role, { permissions: [...input.permissions].sort() });
        return { ...role, permissions: [...input.permissions].sort() };
      }),
    );
  }

  async get(principal: Principal, roleId: string): Promise<RoleWithPermissions> {
    const [role] = await withPermissions(this.db, [await this.findVisible(this.db, principal, roleId)]);
    if (!role) throw AppError.notFound('role_not_found', NOT_FOUND);
    return role;
  }

  async update(principal: Principal, roleId: string, changes: RoleChanges, meta: RequestMeta): Promise<RoleWithPermissions> {
    if (changes.permissions) this.assertCanGrant(principal, changes.permissions);
    const updated = await withUniqueConflict('role_name_taken', () =>
      this.db.transaction(async (tx) => {
        const current = await this.findEditable(tx, principal, roleId, meta);
        if (changes.name !== undefined) await this.assertNotSystemName(tx, changes.name);
        const { permissions: granted, ...fields } = changes;
        const [role] = await tx
          .update(roles)
          .set({ ...fields, updatedAt: new Date() })
          .where(eq(roles.id, current.id))
          .returning();
        if (!role) throw AppError.notFound('role_not_found', NOT_FOUND);
        if (granted) {
          await tx.delete(rolePermissions).where(eq(rolePermissions.roleId, role.id));
          await this.grant(tx, role.id, granted);
        }
        await this.record(tx, principal, meta, 'role.update', role, { changed: Object.keys(changes) });
        const [updated] = await withPermissions(tx, [role]);
        if (!updated) throw AppError.notFound('role_not_found', NOT_FOUND);
        return updated;
      }),
    );
    if (changes.permissions) await this.principals.invalidate(holdersOf(updated));
    return updated;
  }

  async remove(principal: Principal, roleId: string, meta: RequestMeta): Promise<void> {
    const removed = await this.db.transaction(async (tx) => {
      const role = await this.findEditable(tx, principal, roleId, meta);
      await tx.delete(roles).where(eq(roles.id, role.id));
      await this.record(tx, principal, meta, 'role.delete', role, { name: role.name });
      return role;
    });
    await this.principals.invalidate(holdersOf(removed));
  }

  /**
   * The roles with these ids that a user of `organizationId` may hold (system roles or that
   * organization's own); any other id is a 404, as if it did not exist. The caller must hold
   * every permission they grant.
   */
  async assignable(db: Queryable, principal: Principal, organizationId: string, roleIds: string[]): Promise<RoleWithPermissions[]> {
    const rows = await db
      .select()
      .from(roles)
      .where(and(inArray(roles.id, roleIds), or(isNull(roles.organizationId), eq(roles.organizationId, organizationId))));
    if (rows.length !== new Set(roleIds).size) throw AppError.notFound('role_not_found', NOT_FOUND);
    const found = await withPermissions(db, rows);
    this.assertCanGrant(
      principal,
      found.flatMap((role) => role.permissions),
    );
    return found;
  }

  /** No privilege escalation: a caller grants only permissions they hold (the super-admin holds all). */
  private assertCanGrant(principal: Principal, granted: string[]): void {
    if (principal.isSuperadmin) return;
    const missing = [...new Set(granted)].filter((permission) => !principal.permissions.has(permission)).sort();
    if (missing.length > 0) throw AppError.forbidden('role_permissions_not_held', `You cannot grant permissions you do not hold: ${missing.join(', ')}`);
  }

  private async assertNotSystemName(db: Queryable, name: string): Promise<void> {
    const [clash] = await db
      .select({ id: roles.id })
      .from(roles)
      .where(and(isNull(roles.organizationId), sql`lower(${roles.name}) = lower(${name.trim()})`));
    if (clash) throw AppError.conflict('role_name_reserved', `${name.trim()} is the name of a system role`);
  }

  private async findVisible(db: Queryable, principal: Principal, roleId: string): Promise<RoleRow> {
    const [role] = await db.select().from(roles).where(eq(roles.id, roleId));
    const visible = role && (role.organizationId === null || this.access.canSee(principal, role.organizationId));
    if (!role || !visible) throw AppError.notFound('role_not_found', NOT_FOUND);
    return role;
  }

  /** A custom role whose every permission the caller holds: changing it changes what its holders may do. */
  private async findEditable(db: Queryable, principal: Principal, roleId: string, meta: RequestMeta): Promise<RoleRow> {
    const role = await this.findVisible(db, principal, roleId);
    if (role.isSystem) throw AppError.forbidden('role_system_read_only', 'System roles are read-only');
    const [current] = await withPermissions(db, [role]);
    await this.access.requireAllOf(principal, current?.permissions ?? [], 'you cannot change this role', meta);
    return role;
  }

  private async grant(db: Queryable, roleId: string, granted: string[]): Promise<void> {
    if (granted.length === 0) return;
    const rows = await db.select({ id: permissions.id }).from(permissions).where(inArray(permissions.name, granted));
    await db.insert(rolePermissions).values(rows.map((permission) => ({ roleId, permissionId: permission.id })));
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, role: RoleRow, context: Record<string, unknown>) {
    const organizationId = role.organizationId ?? principal.organizationId;
    return this.audit.recordChange(db, meta, principal.userId, eventType, { type: 'role', id: role.id, organizationId }, context);
  }
}
