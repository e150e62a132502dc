import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Key-encryption keys (AES-256-KW) of one-time-code challenges. The raw key is sealed with AES-256-GCM under a key
 * derived from AUTH_SECRET; the newest key not retired wraps new challenges, a retired one still opens challenges
 * sealed before it was replaced until they have expired.
 */
export const otpKeys = pgTable("otp_keys", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** The JWE `kid`. */
  kid: text("kid").notNull().unique("otp_keys_kid_unique"),
  sealedKey: text("sealed_key").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp("retired_at", { withTimezone: true }),
});

/**
 * The single-use ids of live challenge states (SHA-256 of the id, base64url). Issuing a state inserts its id;
 * a verify or resend deletes it (DELETE ... RETURNING), so of two uses of one state only one finds it.
 * Rows past expires_at are worthless and purged periodically.
 */
export const otpChallengeIds = pgTable(
  "otp_challenge_ids",
  {
    idHash: text("id_hash").primaryKey(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("otp_challenge_ids_expires_at_idx").on(table.expiresAt)],
);
