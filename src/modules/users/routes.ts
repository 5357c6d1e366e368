import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';
import { givenFields, pageOf } from '../../http/params.js';
import { toUser } from '../../http/user-view.js';

type UserOperation = 'createUser' | 'inviteUser' | 'listUsers' | 'getUser' | 'updateUser' | 'deleteUser' | 'setUserRoles';

export function userHandlers({ services: { users } }: Container): HandlersFor<UserOperation> {
  return {
    async createUser({ body, principal, meta }) {
      const user = await users.create(
        principal(),
        {
          organizationId: body.organization_id,
          email: body.email,
          fullName: body.full_name,
          password: body.password,
          teamId: body.team_id,
          roleIds: body.role_ids,
        },
        meta,
      );
      return { status: 201, body: toUser(user) };
    },

    async inviteUser({ body, principal, meta }) {
      const user = await users.invite(
        principal(),
        { organizationId: body.organization_id, email: body.email, fullName: body.full_name, teamId: body.team_id, roleIds: body.role_ids },
        meta,
      );
      return { status: 201, body: toUser(user) };
    },

    async listUsers({ params, query, principal }) {
      const page = await users.list(principal(), params.organization_id, { teamId: query.team_id, isActive: query.is_active, q: query.q }, pageOf(query));
      return { status: 200, body: page.items.map(toUser), headers: { 'X-Total-Count': String(page.total) } };
    },

    async getUser({ params, principal }) {
      return { status: 200, body: toUser(await users.get(principal(), params.user_id)) };
    },

    async updateUser({ params, body, principal, meta }) {
      const changes = givenFields({
        email: body.email,
        fullName: body.full_name,
        teamId: body.team_id,
        isActive: body.is_active,
        isVerified: body.is_verified,
      });
      return { status: 200, body: toUser(await users.update(principal(), params.user_id, changes, meta)) };
    },

    async deleteUser({ params, principal, meta }) {
      await users.remove(principal(), params.user_id, meta);
      return { status: 204 };
    },

    async setUserRoles({ params, body, principal, meta }) {
      const assigned = await users.setRoles(principal(), params.user_id, body.role_ids, meta);
      return { status: 200, body: assigned.map((role) => ({ id: role.id, name: role.name, description: role.description })) };
    },
  };
}
