import { and, asc, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { AccessControl, Permission } from '../../auth/access.js';
import type { Principal } from '../../auth/sessions.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { isUniqueViolation } from '../../db/errors.js';
import { permissions, rolePermissions, roles, userRoles } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';
import type { AuditLog, RequestMeta } from '../audit-logs/service.js';

export type RoleRow = typeof roles.$inferSelect;
export interface RoleWithPermissions extends RoleRow {
  permissions: string[];
}

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

const NOT_FOUND = 'Role not found';
const NAME_TAKEN = 'A role with this name already exists';

export class RolesService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessControl,
    private readonly audit: AuditLog,
  ) {}

  async list(principal: Principal, page: PageRequest, meta: RequestMeta): Promise<Page<RoleWithPermissions>> {
    await this.access.require(principal, 'roles:read', meta);
    const scope = or(isNull(roles.organizationId), eq(roles.organizationId, principal.organizationId));
    const { items, total } = await paginate(this.db, roles, scope, [desc(roles.isSystem), asc(roles.createdAt), asc(roles.id)], page);
    return { items: await this.withPermissions(this.db, items), total };
  }

  async create(principal: Principal, input: RoleInput, meta: RequestMeta): Promise<RoleWithPermissions> {
    await this.access.require(principal, 'roles:create', meta);
    this.assertCanGrant(principal, input.permissions);
    try {
      return await this.db.transaction(async (tx) => {
        await this.assertNotSystemName(tx, input.name);
        const [role] = await tx
          .insert(roles)
          .values({ organizationId: principal.organizationId, name: input.name.trim(), description: input.description ?? null })
          .returning();
        if (!role) throw new Error('role insert returned no row');
        await this.grant(tx, role.id, input.permissions);
        await this.record(tx, principal, meta, 'role.create', role, { permissions: [...input.permissions].sort() });
        return { ...role, permissions: [...input.permissions].sort() };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(NAME_TAKEN);
      throw err;
    }
  }

  async get(principal: Principal, roleId: string, meta: RequestMeta): Promise<RoleWithPermissions> {
    await this.access.require(principal, 'roles:read', meta);
    const [role] = await this.withPermissions(this.db, [await this.findVisible(this.db, principal, roleId)]);
    if (!role) throw AppError.notFound(NOT_FOUND);
    return role;
  }

  async update(principal: Principal, roleId: string, changes: RoleChanges, meta: RequestMeta): Promise<RoleWithPermissions> {
    await this.access.require(principal, 'roles:update', meta);
    if (changes.permissions) this.assertCanGrant(principal, changes.permissions);
    try {
      return await this.db.transaction(async (tx) => {
        const current = await this.findEditable(tx, principal, roleId, meta);
        if (changes.name !== undefined) await this.assertNotSystemName(tx, changes.name);
        const { permissions: granted, ...fields } = changes;
        const [role] = await tx.update(roles).set({ ...fields, updatedAt: new Date() }).where(eq(roles.id, current.id)).returning();
        if (!role) throw AppError.notFound(NOT_FOUND);
        if (granted) {
          await tx.delete(rolePermissions).where(eq(rolePermissions.roleId, role.id));
          await this.grant(tx, role.id, granted);
        }
        await this.record(tx, principal, meta, 'role.update', role, { changed: Object.keys(changes) });
        const [withPermissions] = await this.withPermissions(tx, [role]);
        if (!withPermissions) throw AppError.notFound(NOT_FOUND);
        return withPermissions;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(NAME_TAKEN);
      throw err;
    }
  }

  async remove(principal: Principal, roleId: string, meta: RequestMeta): Promise<void> {
    await this.access.require(principal, 'roles:delete', meta);
    await this.db.transaction(async (tx) => {
      const role = await this.findEditable(tx, principal, roleId, meta);
      await tx.delete(roles).where(eq(roles.id, role.id));
      await this.record(tx, principal, meta, 'role.delete', role, { name: role.name });
    });
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
    if (rows.length !== new Set(roleIds).size) throw AppError.notFound(NOT_FOUND);
    const found = await this.withPermissions(db, rows);
    this.assertCanGrant(principal, found.flatMap((role) => role.permissions));
    return found;
  }

  /** No privilege escalation: a caller grants only permissions they hold (the super-admin holds all). */
  private assertCanGrant(principal: Principal, granted: string[]): void {
    if (principal.isSuperadmin) return;
    const missing = [...new Set(granted)].filter((permission) => !principal.permissions.has(permission)).sort();
    if (missing.length > 0) throw AppError.forbidden(`You cannot grant permissions you do not hold: ${missing.join(', ')}`);
  }

  /** Every permission a user's roles grant them, sorted. */
  async permissionsOfUser(db: Queryable, userId: string): Promise<string[]> {
    const rows = await db
      .selectDistinct({ name: permissions.name })
      .from(userRoles)
      .innerJoin(rolePermissions, eq(rolePermissions.roleId, userRoles.roleId))
      .innerJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
      .where(eq(userRoles.userId, userId))
      .orderBy(asc(permissions.name));
    return rows.map((row) => row.name);
  }

  private async assertNotSystemName(db: Queryable, name: string): Promise<void> {
    const [clash] = await db
      .select({ id: roles.id })
      .from(roles)
      .where(and(isNull(roles.organizationId), sql`lower(${roles.name}) = lower(${name.trim()})`));
    if (clash) throw AppError.conflict(`${name.trim()} is the name of a system role`);
  }

  private async findVisible(db: Queryable, principal: Principal, roleId: string): Promise<RoleRow> {
    const [role] = await db.select().from(roles).where(eq(roles.id, roleId));
    const visible = role && (role.organizationId === null || this.access.canSee(principal, role.organizationId));
    if (!role || !visible) throw AppError.notFound(NOT_FOUND);
    return role;
  }

  /** A custom role whose every permission the caller holds: changing it changes what its holders may do. */
  private async findEditable(db: Queryable, principal: Principal, roleId: string, meta: RequestMeta): Promise<RoleRow> {
    const role = await this.findVisible(db, principal, roleId);
    if (role.isSystem) throw AppError.forbidden('System roles are read-only');
    const [current] = await this.withPermissions(db, [role]);
    await this.access.requireAllOf(principal, current?.permissions ?? [], 'you cannot change this role', meta);
    return role;
  }

  private async grant(db: Queryable, roleId: string, granted: string[]): Promise<void> {
    if (granted.length === 0) return;
    const rows = await db.select({ id: permissions.id }).from(permissions).where(inArray(permissions.name, granted));
    await db.insert(rolePermissions).values(rows.map((permission) => ({ roleId, permissionId: permission.id })));
  }

  private async withPermissions(db: Queryable, rows: RoleRow[]): Promise<RoleWithPermissions[]> {
    if (rows.length === 0) return [];
    const grants = await db
      .select({ roleId: rolePermissions.roleId, name: permissions.name })
      .from(rolePermissions)
      .innerJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
      .where(inArray(rolePermissions.roleId, rows.map((role) => role.id)))
      .orderBy(asc(permissions.name));
    return rows.map((role) => ({ ...role, permissions: grants.filter((grant) => grant.roleId === role.id).map((grant) => grant.name) }));
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, role: RoleRow, context: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, {
      eventType,
      organizationId: role.organizationId ?? principal.organizationId,
      resourceType: 'role',
      resourceId: role.id,
      context,
    });
  }
}
