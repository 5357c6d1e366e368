-- Audit rows stay append-only, except that the retention job (AUDIT_RETENTION_DAYS) may delete rows
-- older than the keep period it declares in its own transaction. UPDATE is always refused.
CREATE OR REPLACE FUNCTION "audit_logs_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  keep_days integer := nullif(current_setting('fm_auth.audit_retention_days', true), '')::integer;
BEGIN
  IF TG_OP = 'DELETE' AND keep_days >= 1 AND OLD."created_at" < now() - make_interval(days => keep_days) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
