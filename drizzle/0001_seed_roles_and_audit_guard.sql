-- The permission catalog and the three system roles every organization shares.
-- Fixed ids so clients and fixtures can name the system roles without a lookup.
INSERT INTO "permissions" ("name", "description")
SELECT r.resource || ':' || a.action,
       initcap(a.action) || ' ' || r.label
FROM (VALUES ('organizations', 'organizations'), ('teams', 'teams'), ('users', 'users'),
             ('sso', 'SSO configurations'), ('roles', 'roles')) AS r(resource, label)
CROSS JOIN (VALUES ('create'), ('read'), ('update'), ('delete')) AS a(action);
--> statement-breakpoint
INSERT INTO "permissions" ("name", "description") VALUES ('audit:read', 'Read the audit log');
--> statement-breakpoint
INSERT INTO "roles" ("id", "organization_id", "name", "description", "is_system") VALUES
  ('00000000-0000-4000-8000-000000000001', NULL, 'Admin', 'Manages everything within its organization', true),
  ('00000000-0000-4000-8000-000000000002', NULL, 'Member', 'Reads the organization, its teams and users', true),
  ('00000000-0000-4000-8000-000000000003', NULL, 'Viewer', 'Reads teams and users', true);
--> statement-breakpoint
INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT '00000000-0000-4000-8000-000000000001', "id" FROM "permissions"
WHERE "name" NOT IN ('organizations:create', 'organizations:delete');
--> statement-breakpoint
INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT '00000000-0000-4000-8000-000000000002', "id" FROM "permissions"
WHERE "name" IN ('organizations:read', 'teams:read', 'users:read');
--> statement-breakpoint
INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT '00000000-0000-4000-8000-000000000003', "id" FROM "permissions"
WHERE "name" IN ('teams:read', 'users:read');
--> statement-breakpoint
CREATE FUNCTION "audit_logs_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_logs_append_only"
BEFORE UPDATE OR DELETE ON "audit_logs"
FOR EACH ROW EXECUTE FUNCTION "audit_logs_append_only"();
