CREATE TABLE "otp_challenge_ids" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "otp_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kid" text NOT NULL,
	"sealed_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	CONSTRAINT "otp_keys_kid_unique" UNIQUE("kid")
);
--> statement-breakpoint
CREATE INDEX "otp_challenge_ids_expires_at_idx" ON "otp_challenge_ids" USING btree ("expires_at");