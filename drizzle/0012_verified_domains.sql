CREATE TABLE "organization_domains" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"domain" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"verification_method" text NOT NULL,
	"dns_token" text,
	"verification_email" text,
	"verified_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organization_domains_status_ck" CHECK ("organization_domains"."status" in ('pending', 'verified')),
	CONSTRAINT "organization_domains_method_ck" CHECK ("organization_domains"."verification_method" in ('dns', 'email')),
	CONSTRAINT "organization_domains_method_fields_ck" CHECK (("organization_domains"."verification_method" = 'dns') = ("organization_domains"."dns_token" is not null) and ("organization_domains"."verification_method" = 'email') = ("organization_domains"."verification_email" is not null)),
	CONSTRAINT "organization_domains_verified_at_ck" CHECK (("organization_domains"."status" = 'verified') = ("organization_domains"."verified_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "email_tokens" DROP CONSTRAINT "email_tokens_purpose_ck";--> statement-breakpoint
ALTER TABLE "email_tokens" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "email_tokens" ADD COLUMN "organization_domain_id" uuid;--> statement-breakpoint
ALTER TABLE "organization_domains" ADD CONSTRAINT "organization_domains_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "organization_domains_org_domain_uq" ON "organization_domains" USING btree ("organization_id","domain");--> statement-breakpoint
CREATE UNIQUE INDEX "organization_domains_verified_uq" ON "organization_domains" USING btree ("domain") WHERE "organization_domains"."status" = 'verified';--> statement-breakpoint
CREATE INDEX "organization_domains_org_created_idx" ON "organization_domains" USING btree ("organization_id","created_at","id");--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_organization_domain_id_organization_domains_id_fk" FOREIGN KEY ("organization_domain_id") REFERENCES "public"."organization_domains"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "email_tokens_domain_idx" ON "email_tokens" USING btree ("organization_domain_id");--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_owner_ck" CHECK (("email_tokens"."purpose" = 'domain_verification') = ("email_tokens"."organization_domain_id" is not null) and ("email_tokens"."user_id" is null) = ("email_tokens"."organization_domain_id" is not null));--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_purpose_ck" CHECK ("email_tokens"."purpose" in ('password_reset', 'email_verification', 'invitation', 'domain_verification'));