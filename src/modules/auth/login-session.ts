import type { AuthenticationMethod, Sessions, TokenPair } from '../../auth/sessions.js';
import type { AuditLog } from '../../core/audit-log.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { users } from '../../db/schema.js';

export interface LoginUser {
  id: string;
  email: string;
  organizationId: string;
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
