import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { givenFields, pageOf } from '../../http/params.js';
import type { RoleWithPermissions } from './service.js';

function toRole(role: RoleWithPermissions): Schemas['Role'] {
  return {
    id: role.id,
    organization_id: role.organizationId,
    name: role.name,
    description: role.description,
    is_system: role.isSystem,
    permissions: role.permissions,
    created_at: role.createdAt.toISOString(),
    updated_at: role.updatedAt.toISOString(),
  };
}

type RoleOperation = 'listRoles' | 'createRole' | 'getRole' | 'updateRole' | 'deleteRole';

export function roleHandlers({ services: { roles } }: Container): HandlersFor<RoleOperation> {
  return {
    async listRoles({ query, principal }) {
      const page = await roles.list(principal(), pageOf(query));
      return { status: 200, body: page.items.map(toRole), headers: { 'X-Total-Count': String(page.total) } };
    },

    async createRole({ body, principal, meta }) {
      const role = await roles.create(principal(), { name: body.name, description: body.description, permissions: body.permissions }, meta);
      return { status: 201, body: toRole(role) };
    },

    async getRole({ params, principal }) {
      return { status: 200, body: toRole(await roles.get(principal(), params.role_id)) };
    },

    async updateRole({ params, body, principal, meta }) {
      const changes = givenFields({ name: body.name, description: body.description, permissions: body.permissions });
      return { status: 200, body: toRole(await roles.update(principal(), params.role_id, changes, meta)) };
    },

    async deleteRole({ params, principal, meta }) {
      await roles.remove(principal(), params.role_id, meta);
      return { status: 204 };
    },
  };
}
