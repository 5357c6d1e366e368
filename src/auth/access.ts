import type { AuditLog } from '../core/audit-log.js';
import { AppError } from '../core/errors.js';
import type { Permission } from '../core/permissions.js';
import type { Principal } from '../core/principal.js';
import type { RequestMeta } from '../core/request-meta.js';
import type { Database } from '../db/client.js';

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
    if (principal.isSuperadmin || principal.permissions.has(permission)) return;
    await this.deny(principal, permission, meta);
  }

  /** Operations over the whole platform (`x-platform`): no role may grant them, only the super-admin flag. */
  async requireSuperadmin(principal: Principal, permission: Permission, meta: RequestMeta): Promise<void> {
    if (principal.isSuperadmin) return;
    await this.deny(principal, permission, meta);
  }

  /**
   * Throws 403 unless the caller holds every one of `held` (what a target user or role holds):
   * nobody acts on someone more privileged than themselves. The super-admin holds them all.
   */
  async requireAllOf(principal: Principal, held: readonly string[], why: string, meta: RequestMeta): Promise<void> {
    if (principal.isSuperadmin) return;
    const lacking = [...new Set(held)].filter((permission) => !principal.permissions.has(permission)).sort();
    if (lacking.length === 0) return;
    await this.recordDenial(principal, { reason: 'target_more_privileged', lacking }, meta);
    throw AppError.forbidden('permission_target_more_privileged', `Permission denied: ${why}: it holds permissions you do not (${lacking.join(', ')})`);
  }

  /** Whether the caller may see objects of this organization (others' look like they do not exist). */
  canSee(principal: Principal, organizationId: string): boolean {
    return principal.isSuperadmin || principal.organizationId === organizationId;
  }

  private async deny(principal: Principal, permission: Permission, meta: RequestMeta): Promise<never> {
    await this.recordDenial(principal, { permission }, meta);
    throw AppError.forbidden('permission_denied', `Permission denied: requires ${permission}`);
  }

  private recordDenial(principal: Principal, context: Record<string, unknown>, meta: RequestMeta): Promise<void> {
    return this.audit.record(this.db, meta, {
      eventType: 'permission.denied',
      status: 'denied',
      organizationId: principal.organizationId,
      actorUserId: principal.userId,
      context,
    });
  }
}
