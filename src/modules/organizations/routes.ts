import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { givenFields, pageOf } from '../../http/params.js';
import type { OrganizationRow } from '../../db/schema.js';

function toOrganization(row: OrganizationRow): Schemas['Organization'] {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    plan: row.plan as Schemas['Plan'],
    contact_email: row.contactEmail,
    contact_name: row.contactName,
    max_users: row.maxUsers,
    max_teams: row.maxTeams,
    allowed_email_domains: row.allowedEmailDomains,
    require_mfa: row.requireMfa,
    is_active: row.isActive,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** The settings a create or update body gives, in column names (absent fields stay absent). */
function settingsOf(body: Schemas['OrganizationCreate'] | Schemas['OrganizationUpdate']) {
  return givenFields({
    name: body.name,
    slug: body.slug,
    plan: body.plan,
    contactEmail: body.contact_email,
    contactName: body.contact_name,
    maxUsers: body.max_users,
    maxTeams: body.max_teams,
    allowedEmailDomains: body.allowed_email_domains,
    requireMfa: body.require_mfa,
    isActive: 'is_active' in body ? body.is_active : undefined,
  });
}

type OrganizationOperation = 'createOrganization' | 'listOrganizations' | 'getOrganization' | 'updateOrganization' | 'deleteOrganization';

export function organizationHandlers({ services: { organizations } }: Container): HandlersFor<OrganizationOperation> {
  return {
    async createOrganization({ body, principal, meta }) {
      const organization = await organizations.create(principal(), { ...settingsOf(body), name: body.name, slug: body.slug }, meta);
      return { status: 201, body: toOrganization(organization) };
    },

    async listOrganizations({ query, principal }) {
      const page = await organizations.list(principal(), pageOf(query));
      return { status: 200, body: page.items.map(toOrganization), headers: { 'X-Total-Count': String(page.total) } };
    },

    async getOrganization({ params, principal }) {
      return { status: 200, body: toOrganization(await organizations.get(principal(), params.organization_id)) };
    },

    async updateOrganization({ params, body, principal, meta }) {
      const updated = await organizations.update(principal(), params.organization_id, settingsOf(body), meta);
      return { status: 200, body: toOrganization(updated) };
    },

    async deleteOrganization({ params, principal, meta }) {
      await organizations.remove(principal(), params.organization_id, meta);
      return { status: 204 };
    },
  };
}
