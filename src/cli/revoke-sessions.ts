import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import type { Sessions } from '../auth/sessions.js';
import type { Container } from '../container.js';
import type { Queryable } from '../db/client.js';
import { organizations, users } from '../db/schema.js';
import { AppError } from '../core/errors.js';
import { CLI_META, type Command } from './command.js';

type Scope = { kind: 'organization'; id: string } | { kind: 'user'; id: string } | { kind: 'all' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The organization the scope belongs to; refuses an id that names nothing, so a typo never reports "0 revoked" as success. */
async function organizationOf(db: Queryable, scope: Scope): Promise<string | null> {
  if (scope.kind === 'all') return null;
  const [row] =
    scope.kind === 'organization'
      ? await db.select({ organizationId: organizations.id }).from(organizations).where(eq(organizations.id, scope.id))
      : await db.select({ organizationId: users.organizationId }).from(users).where(eq(users.id, scope.id));
  if (!row) throw AppError.notFound(`${scope.kind}_not_found`, `no ${scope.kind} has the id ${scope.id}`);
  return row.organizationId;
}

function revokeIn(tx: Queryable, sessions: Sessions, scope: Scope): Promise<number> {
  switch (scope.kind) {
    case 'organization':
      return sessions.revokeAllForOrganization(tx, scope.id, 'admin_revoked');
    case 'user':
      return sessions.revokeAllForUser(tx, scope.id, 'admin_revoked');
    case 'all':
      return sessions.revokeAll(tx, 'admin_revoked');
  }
}

/**
 * Ends the live sessions in scope, and with them their refresh tokens and every access token
 * carrying their `sid` (checked on each request), in one transaction with its audit row.
 */
async function revokeSessions(container: Container, scope: Scope): Promise<string> {
  const revoked = await container.database.db.transaction(async (tx) => {
    const organizationId = await organizationOf(tx, scope);
    const revoked = await revokeIn(tx, container.sessions, scope);
    await container.audit.record(tx, CLI_META, {
      eventType: 'admin.sessions_revoked',
      status: 'success',
      organizationId,
      ...(scope.kind === 'all' ? {} : { resourceType: scope.kind, resourceId: scope.id }),
      context: { scope: scope.kind, sessions_revoked: revoked },
    });
    return revoked;
  });
  // The running instances cache live sessions: they drop these before the command reports success.
  await container.principals.invalidate(scope);
  const of = scope.kind === 'all' ? 'of every user' : `of ${scope.kind} ${scope.id}`;
  return `revoked ${revoked} live session${revoked === 1 ? '' : 's'} ${of}`;
}

export const revokeSessionsCommand: Command = {
  usage: `npm run admin -- revoke-sessions (--organization ID | --user ID | --all)

  Ends every live session of one organization's users, of one user, or of everyone (after a leak
  or an incident): their refresh and access tokens stop working at once, and they log in again.
  Audited as admin.sessions_revoked.`,
  parse(args) {
    const { values } = parseArgs({
      args,
      options: { organization: { type: 'string' }, user: { type: 'string' }, all: { type: 'boolean' } },
    });
    const scopes: Scope[] = [];
    if (values.organization !== undefined) scopes.push({ kind: 'organization', id: values.organization });
    if (values.user !== undefined) scopes.push({ kind: 'user', id: values.user });
    if (values.all) scopes.push({ kind: 'all' });
    const [scope] = scopes;
    if (scopes.length !== 1 || !scope || (scope.kind !== 'all' && !UUID.test(scope.id))) throw new Error('usage');
    return (container) => revokeSessions(container, scope);
  },
};
