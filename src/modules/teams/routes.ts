import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { givenFields, pageOf } from '../../http/params.js';
import type { TeamRow } from '../../db/schema.js';

function toTeam(row: TeamRow): Schemas['Team'] {
  return {
    id: row.id,
    organization_id: row.organizationId,
    name: row.name,
    slug: row.slug,
    description: row.description,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

type TeamOperation = 'createTeam' | 'listTeams' | 'getTeam' | 'updateTeam' | 'deleteTeam';

export function teamHandlers({ services: { teams } }: Container): HandlersFor<TeamOperation> {
  return {
    async createTeam({ body, principal, meta }) {
      const team = await teams.create(principal(), { organizationId: body.organization_id, name: body.name, slug: body.slug, description: body.description }, meta);
      return { status: 201, body: toTeam(team) };
    },

    async listTeams({ params, query, principal }) {
      const page = await teams.list(principal(), params.organization_id, pageOf(query));
      return { status: 200, body: page.items.map(toTeam), headers: { 'X-Total-Count': String(page.total) } };
    },

    async getTeam({ params, principal }) {
      return { status: 200, body: toTeam(await teams.get(principal(), params.team_id)) };
    },

    async updateTeam({ params, body, principal, meta }) {
      const changes = givenFields({ name: body.name, slug: body.slug, description: body.description });
      return { status: 200, body: toTeam(await teams.update(principal(), params.team_id, changes, meta)) };
    },

    async deleteTeam({ params, principal, meta }) {
      await teams.remove(principal(), params.team_id, meta);
      return { status: 204 };
    },
  };
}
