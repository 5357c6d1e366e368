import type { Container } from '../../container.js';
import { pageOf, timestampOf } from '../../http/params.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import type { AuditLogRow as AuditRow } from '../../db/schema.js';

function toAuditEvent(row: AuditRow): Schemas['AuditEvent'] {
  return {
    id: row.id,
    organization_id: row.organizationId,
    actor_user_id: row.actorUserId,
    event_type: row.eventType,
    resource_type: row.resourceType,
    resource_id: row.resourceId,
    status: row.status as Schemas['AuditEvent']['status'],
    ip_address: row.ipAddress,
    user_agent: row.userAgent,
    request_id: row.requestId,
    context: row.context,
    created_at: row.createdAt.toISOString(),
  };
}

export function auditLogHandlers({ services: { auditLogs } }: Container): HandlersFor<'listAuditLogs'> {
  return {
    async listAuditLogs({ query, principal }) {
      const page = await auditLogs.list(
        principal(),
        {
          eventType: query.event_type,
          userId: query.user_id,
          organizationId: query.organization_id,
          since: timestampOf('since', query.since),
          until: timestampOf('until', query.until),
        },
        pageOf(query),
      );
      return { status: 200, body: page.items.map(toAuditEvent), headers: { 'X-Total-Count': String(page.total) } };
    },
  };
}
