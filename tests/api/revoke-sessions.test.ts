import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runAdminCli } from '../helpers/commands.js';
import { createEmptyDatabase } from '../helpers/database.js';
import { revokedReasonsOf } from '../helpers/database-facts.js';
import { API, auditCursor, auditEvents, expectProblem, joinOrganization, login, loginSuperadmin, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** The platform super-admin: reads every organization's audit rows and those tied to none. */
let root: Tokens;
beforeAll(async () => {
  server = await startServer();
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

const revokeSessions = (...args: string[]) => runAdminCli(inject('databaseUrl'), ['revoke-sessions', ...args]);

async function expectRevoked(tokens: Tokens, on = server): Promise<void> {
  expectProblem(await on.request('GET', `${API}/auth/me`, { token: tokens.access_token }), 401, 'session_ended');
  expectProblem(await on.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } }), 401, 'refresh_token_invalid');
}

async function expectLive(tokens: Tokens, on = server): Promise<void> {
  const me = await on.request('GET', `${API}/auth/me`, { token: tokens.access_token });
  expect(me.status, me.text).toBe(200);
}

/** The `admin.sessions_revoked` rows of one scope the reader sees (an Admin: their organization's; the super-admin: all). */
async function auditRowsOf(on: TestServer, reader: Tokens, scope: string) {
  return (await auditEvents(on, reader, { event_type: 'admin.sessions_revoked' }))
    .filter((event) => event.context.scope === scope)
    .map(({ organization_id, actor_user_id, resource_type, resource_id, context }) => ({ organization_id, actor_user_id, resource_type, resource_id, context }));
}

describe('npm run admin -- revoke-sessions', () => {
  it(
    '--user ends every session of that user, and no one else’s, audited',
    async () => {
      const admin = await registerOrganization(server);
      const [first, second] = [await login(server, admin), await login(server, admin)];
      const colleague = await login(server, await joinOrganization(server, admin, first));

      const result = await revokeSessions('--user', admin.userId);
      expect(result.stdout, result.stderr).toBe(`revoked 2 live sessions of user ${admin.userId}\n`);
      await expectRevoked(first);
      await expectRevoked(second);
      await expectLive(colleague);
      expect(await revokedReasonsOf(server, admin.userId)).toEqual(['admin_revoked']);
      const again = await login(server, admin);
      expect(await auditRowsOf(server, again, 'user')).toContainEqual({
        organization_id: admin.organizationId,
        actor_user_id: null,
        resource_type: 'user',
        resource_id: admin.userId,
        context: { scope: 'user', sessions_revoked: 2 },
      });
      await expectLive(again);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--organization ends every session of its users, and no other organization’s, audited',
    async () => {
      const admin = await registerOrganization(server);
      const adminTokens = await login(server, admin);
      const memberTokens = await login(server, await joinOrganization(server, admin, adminTokens));
      const outsider = await login(server, await registerOrganization(server));

      const result = await revokeSessions('--organization', admin.organizationId);
      expect(result.stdout, result.stderr).toBe(`revoked 2 live sessions of organization ${admin.organizationId}\n`);
      await expectRevoked(adminTokens);
      await expectRevoked(memberTokens);
      await expectLive(outsider);
      expect(await auditRowsOf(server, await login(server, admin), 'organization')).toContainEqual({
        organization_id: admin.organizationId,
        actor_user_id: null,
        resource_type: 'organization',
        resource_id: admin.organizationId,
        context: { scope: 'organization', sessions_revoked: 2 },
      });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--all ends every live session of every organization, audited',
    async () => {
      // A database of its own: ending every session of the shared one would log out the other test files.
      const database = await createEmptyDatabase('revoke_all');
      try {
        const alone = await startServer({ DATABASE_URL: database.url });
        try {
          await alone.container.database.migrate();
          const tokens = [await login(alone, await registerOrganization(alone)), await login(alone, await registerOrganization(alone))];
          const result = await runAdminCli(database.url, ['revoke-sessions', '--all']);
          expect(result.stdout, result.stderr).toBe('revoked 2 live sessions of every user\n');
          for (const pair of tokens) await expectRevoked(pair, alone);
          // Made after the revocation, which would otherwise have counted its session too.
          const aloneRoot = await loginSuperadmin(alone, database.url);
          expect(await auditRowsOf(alone, aloneRoot, 'all')).toEqual([
            { organization_id: null, actor_user_id: null, resource_type: null, resource_id: null, context: { scope: 'all', sessions_revoked: 2 } },
          ]);
        } finally {
          await alone.close();
        }
      } finally {
        await database.drop();
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'wants exactly one of --organization ID, --user ID or --all (exit 2), and refuses an unknown id (exit 1)',
    async () => {
      const since = auditCursor();
      for (const args of [[], ['--all', '--user', randomUUID()], ['--user', 'not-a-uuid'], ['--all', 'extra']]) {
        const usage = await revokeSessions(...args);
        expect(usage.status, args.join(' ')).toBe(2);
        expect(usage.stderr).toMatch(/revoke-sessions \(--organization ID \| --user ID \| --all\)/);
      }
      const unknown = randomUUID();
      const refused = await revokeSessions('--organization', unknown);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toBe(`refused: no organization has the id ${unknown}\n`);
      expect((await auditEvents(server, root, { since })).filter((event) => event.resource_id === unknown)).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
