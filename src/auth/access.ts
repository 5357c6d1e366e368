import type { Database } from '../db/client.js';
import { AppError } from '../http/errors.js';
import type { AuditLog, RequestMeta } from '../modules/audit-logs/service.js';
import type { Principal } from './sessions.js';

export type Resource = 'organizations' | 'teams' | 'users' | 'sso' | 'roles';
export type Permission = `${Resource}:${'create' | 'read' | 'update' | 'delete'}` | 'audit:read';

/** Permissions over the whole platform: no organization role may grant them, only the super-admin flag. */
const PLATFORM_PERMISSIONS: ReadonlySet<Permission> = new Set(['organizations:create', 'organizations:delete']);

/** Permission and tenant checks, with an audit row for every refusal. */
export class AccessControl {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Throws 403 naming the missing permission, its detail starting with "Permission denied" as the old
   * service's clients match on; the platform super-admin holds them all.
   */
  async require(principal: Principal, permission: Permission, meta: RequestMeta): Promise<void> {
    if (principal.isSuperadmin) return;
    if (!PLATFORM_PERMISSIONS.has(permission) && principal.permissions.has(permission)) return;
    await this.audit.record(this.db, meta, {
      eventType: 'permission.denied',
      status: 'denied',
      organizationId: principal.organizationId,
      actorUserId: principal.userId,
      context: { permission },
    });
    throw AppError.forbidden(`Permission denied: requires ${permission}`);
  }

  /**
   * Throws 403 unless the caller holds every one of `held` (what a target user or role holds):
   * nobody acts on someone more privileged than themselves. The super-admin holds them all.
   */
  async requireAllOf(principal: Principal, held: readonly string[], why: string, meta: RequestMeta): Promise<void> {
    if (principal.isSuperadmin) return;
    const lacking = [...new Set(held)].filter((permission) => !principal.permissions.has(permission)).sort();
    if (lacking.length === 0) return;
    await this.audit.record(this.db, meta, {
      eventType: 'permission.denied',
      status: 'denied',
      organizationId: principal.organizationId,
      actorUserId: principal.userId,
      context: { reason: 'target_more_privileged', lacking },
    });
    throw AppError.forbidden(`Permission denied: ${why}: it holds permissions you do not (${lacking.join(', ')})`);
  }

  /** Whether the caller may see objects of this organization (others' look like they do not exist). */
  canSee(principal: Principal, organizationId: string): boolean {
    return principal.isSuperadmin || principal.organizationId === organizationId;
  }
}
