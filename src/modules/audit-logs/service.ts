import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Principal } from '../../auth/sessions.js';
import type { Database, Queryable } from '../../db/client.js';
import { type PageRequest, paginate } from '../../db/paginate.js';
import { auditLogs } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';

export type AuditRow = typeof auditLogs.$inferSelect;

export interface AuditFilters {
  eventType?: string;
  userId?: string;
  organizationId?: string;
  since?: Date;
  until?: Date;
}

/** Who did it and from where: carried from the HTTP edge into the services. */
export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEvent {
  eventType: string;
  status: 'success' | 'failure' | 'denied';
  organizationId?: string | null;
  actorUserId?: string | null;
  resourceType?: string;
  resourceId?: string;
  /** Facts about the event; never a password, token or assertion. */
  context?: Record<string, unknown>;
}

/** A successful change to an object, made by a signed-in user. */
export interface ChangeEvent {
  eventType: string;
  organizationId: string;
  resourceType: string;
  resourceId: string;
  context?: Record<string, unknown>;
}

/** The append-only audit trail. Callers pass their transaction so a change and its row commit together. */
export class AuditLog {
  async record(db: Queryable, meta: RequestMeta, event: AuditEvent): Promise<void> {
    await db.insert(auditLogs).values({
      organizationId: event.organizationId ?? null,
      actorUserId: event.actorUserId ?? null,
      eventType: event.eventType,
      status: event.status,
      resourceType: event.resourceType ?? null,
      resourceId: event.resourceId ?? null,
      ipAddress: meta.ip,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      requestId: meta.requestId,
      context: event.context ?? {},
    });
  }

  recordChange(db: Queryable, meta: RequestMeta, actorUserId: string, change: ChangeEvent): Promise<void> {
    return this.record(db, meta, { ...change, status: 'success', actorUserId });
  }
}

/** Reading the trail: newest first, scoped to the caller's organization unless super-admin. */
export class AuditReader {
  constructor(
    private readonly db: Database,
    private readonly access: AccessControl,
  ) {}

  async list(principal: Principal, filters: AuditFilters, page: PageRequest, meta: RequestMeta) {
    await this.access.require(principal, 'audit:read', meta);
    if (filters.organizationId && !this.access.canSee(principal, filters.organizationId)) {
      throw AppError.notFound('Organization not found');
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
