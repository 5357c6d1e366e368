const RESOURCES = ['organizations', 'teams', 'users', 'sso', 'roles'] as const;
const ACTIONS = ['create', 'read', 'update', 'delete'] as const;

export type Permission = `${(typeof RESOURCES)[number]}:${(typeof ACTIONS)[number]}` | 'audit:read';

/** The catalog drizzle/0001_seed_roles_and_audit_guard.sql seeds: what a role may grant and `x-permission` may name. */
export const PERMISSIONS: readonly Permission[] = [...RESOURCES.flatMap((resource) => ACTIONS.map((action) => `${resource}:${action}` as const)), 'audit:read'];

export function isPermission(name: string): name is Permission {
  return (PERMISSIONS as readonly string[]).includes(name);
}
