import type { Queryable } from '../../db/client.js';
import { auditLogs } from '../../db/schema.js';

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
