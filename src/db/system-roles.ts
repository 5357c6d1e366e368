/** The system roles seeded by drizzle/0001_seed_roles_and_audit_guard.sql, with their fixed ids. */
export const SYSTEM_ROLE_IDS = {
  admin: '00000000-0000-4000-8000-000000000001',
  member: '00000000-0000-4000-8000-000000000002',
  viewer: '00000000-0000-4000-8000-000000000003',
} as const;
