import type { AuthenticationMethod, Sessions, TokenPair } from '../../auth/sessions.js';
import type { AuditEvent, AuditLog } from '../../core/audit-log.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { users } from '../../db/schema.js';

export interface LoginUser {
  id: string;
  email: string;
  organizationId: string;
}

export function loginUserOf(principal: Principal): LoginUser {
  return { id: principal.userId, email: principal.email, organizationId: principal.organizationId };
}

/** An audit row of the user's own second-factor events: the user is both the actor and the resource. */
export function recordUserEvent(audit: AuditLog, db: Queryable, meta: RequestMeta, user: LoginUser, event: Pick<AuditEvent, 'eventType' | 'status' | 'context'>): Promise<void> {
  return audit.record(db, meta, { ...event, organizationId: user.organizationId, actorUserId: user.id, resourceType: 'user', resourceId: user.id });
}

/** The end of every password login, with or without a second factor: the session, its tokens and the audit row. */
export async function startLoginSession(
  { sessions, audit }: { sessions: Sessions; audit: AuditLog },
  tx: Queryable,
  user: LoginUser,
  amr: AuthenticationMethod[],
  meta: RequestMeta,
): Promise<TokenPair> {
  await tx.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id));
  const tokens = await sessions.start(tx, user, 'password', amr, meta);
  await audit.record(tx, meta, {
    eventType: 'auth.login',
    status: 'success',
    organizationId: user.organizationId,
    actorUserId: user.id,
    context: { method: 'password', amr },
  });
  return tokens;
}
