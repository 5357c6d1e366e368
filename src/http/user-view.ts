import type { UserRow } from '../db/schema.js';
import type { Schemas } from './types.js';

export function toUser(row: UserRow): Schemas['User'] {
  return {
    id: row.id,
    email: row.email,
    full_name: row.fullName,
    organization_id: row.organizationId,
    team_id: row.teamId,
    is_active: row.isActive,
    is_verified: row.isVerified,
    sso_provider: row.ssoProvider,
    last_login_at: row.lastLoginAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
