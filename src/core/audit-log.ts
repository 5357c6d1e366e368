import type { Queryable } from '../db/client.js';
import { auditLogs } from '../db/schema.js';
import type { RequestMeta } from './request-meta.js';

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

/** The object a signed-in user changed. */
export interface ChangedResource {
  type: string;
  id: string;
  organizationId: string;
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

  /** A successful change to one object by a signed-in user. */
  recordChange(db: Queryable, meta: RequestMeta, actorUserId: string, eventType: string, resource: ChangedResource, context: Record<string, unknown> = {}): Promise<void> {
    return this.record(db, meta, {
      eventType,
      status: 'success',
      actorUserId,
      organizationId: resource.organizationId,
      resourceType: resource.type,
      resourceId: resource.id,
      context,
    });
  }
}
