import { sql } from 'drizzle-orm';
import { LISTENER_NAME_PREFIX } from '../../src/db/peer-bus.js';
import type { TestServer } from './server.js';

// Failures no API can cause: the one place tests break the service's own connections.

/**
 * Ends `target`'s LISTEN connection from the database side, as a network fault or a database
 * restart would: the notifications sent meanwhile never reach it. Answers whether it was found.
 */
export async function dropPeerListener(via: TestServer, target: TestServer): Promise<boolean> {
  const [row] = await via.query<{ dropped: boolean }>(
    sql`select coalesce(bool_or(pg_terminate_backend(pid)), false) as dropped from pg_stat_activity where application_name = ${LISTENER_NAME_PREFIX + (target.container.principals.peerId ?? '')}`,
  );
  return row?.dropped ?? false;
}
