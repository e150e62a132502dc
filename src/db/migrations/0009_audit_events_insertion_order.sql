DROP INDEX "audit_events_user_id_created_at_idx";--> statement-breakpoint
DROP INDEX "audit_events_created_at_id_idx";--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "seq" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);--> statement-breakpoint
CREATE INDEX "audit_events_user_id_created_at_seq_idx" ON "audit_events" USING btree ("user_id","created_at","seq");--> statement-breakpoint
CREATE INDEX "audit_events_created_at_seq_idx" ON "audit_events" USING btree ("created_at","seq");