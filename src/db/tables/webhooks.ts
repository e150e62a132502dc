import { boolean, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./timestamps.ts";

/**
 * Where webhooks go. The signing secret must be usable for signing, so it is sealed (never hashed); after a
 * rotation the previous one keeps signing alongside until `previous_secret_expires_at`.
 */
export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: uuid("id").primaryKey().defaultRandom(),
  url: text("url").notNull(),
  description: text("description").notNull().default(""),
  /** The event types it receives (e.g. user.created); empty: every type. */
  eventTypes: jsonb("event_types").$type<string[]>().notNull().default([]),
  enabled: boolean("enabled").notNull().default(true),
  sealedSecret: text("sealed_secret").notNull(),
  previousSealedSecret: text("previous_sealed_secret"),
  previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
  /** Start of the current run of failed deliveries (null while it delivers): 3 days of it disable the endpoint. */
  failingSince: timestamp("failing_since", { withTimezone: true }),
  /** Why the server disabled it ("gone": the receiver answered 410; "failing": 3 days of failures); null otherwise. */
  disabledReason: text("disabled_reason"),
  ...timestamps,
});
