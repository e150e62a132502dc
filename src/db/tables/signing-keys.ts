import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** JWT signing keys. The private JWK is sealed with AES-256-GCM under a key derived from AUTH_SECRET. */
export const signingKeys = pgTable("signing_keys", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** The JWK `kid`. */
  kid: text("kid").notNull().unique("signing_keys_kid_unique"),
  algorithm: text("algorithm").notNull(),
  publicJwk: text("public_jwk").notNull(),
  sealedPrivateJwk: text("sealed_private_jwk").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  /** When a newer key took over signing; the key stays published until its last token has expired. */
  retiredAt: timestamp("retired_at", { withTimezone: true }),
});
