import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Database } from '../../db/client.js';
import { type PageRequest, paginate } from '../../db/paginate.js';
import { auditLogs } from '../../db/schema.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';

export interface AuditFilters {
  eventType?: string;
  userId?: string;
  organizationId?: string;
  since?: Date;
  until?: Date;
}

/** Reading the trail: newest first, scoped to the caller's organization unless super-admin. */
export class AuditReader {
  constructor(
    private readonly db: Database,
    private readonly access: AccessControl,
  ) {}

  async list(principal: Principal, filters: AuditFilters, page: PageRequest) {
    if (filters.organizationId && !this.access.canSee(principal, filters.organizationId)) {
      throw AppError.notFound('organization_not_found', 'Organization not found');
    }
    const organizationId = filters.organizationId ?? (principal.isSuperadmin ? undefined : principal.organizationId);
    const conditions: (SQL | undefined)[] = [
      organizationId ? eq(auditLogs.organizationId, organizationId) : undefined,
      filters.eventType ? eq(auditLogs.eventType, filters.eventType) : undefined,
      filters.userId ? eq(auditLogs.actorUserId, filters.userId) : undefined,
      filters.since ? gte(auditLogs.createdAt, filters.since) : undefined,
      filters.until ? lt(auditLogs.createdAt, filters.until) : undefined,
    ];
    const scope = and(...conditions);
    return paginate(this.db, auditLogs, scope, [desc(auditLogs.createdAt), desc(auditLogs.id)], page);
  }
}
