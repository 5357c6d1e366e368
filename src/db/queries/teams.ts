import { and, count, eq, isNull } from 'drizzle-orm';
import type { Queryable } from '../client.js';
import { type TeamRow, teams } from '../schema.js';

export const liveTeams = isNull(teams.deletedAt);

/** What counts against an organization's `max_teams`. */
export async function countLiveTeams(db: Queryable, organizationId: string): Promise<number> {
  const [row] = await db
    .select({ total: count() })
    .from(teams)
    .where(and(eq(teams.organizationId, organizationId), liveTeams));
  return row?.total ?? 0;
}

export async function findLiveTeam(db: Queryable, teamId: string): Promise<TeamRow | undefined> {
  const [team] = await db
    .select()
    .from(teams)
    .where(and(eq(teams.id, teamId), liveTeams));
  return team;
}
