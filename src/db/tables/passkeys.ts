import { bigint, boolean, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./timestamps.ts";
import { users } from "./users.ts";

export type PasskeyDeviceType = "singleDevice" | "multiDevice";

/**
 * Passkeys and security keys (WebAuthn credentials). `credential_id` is the authenticator's id (base64url), unique
 * across users: an assertion names it and nothing else. The public key is COSE-encoded, as the authenticator gave
 * it; it is not a secret. `counter` is the last signature counter seen (0 for authenticators that do not count).
 */
export const passkeys = pgTable(
  "passkeys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    credentialId: text("credential_id").notNull().unique("passkeys_credential_id_unique"),
    /** base64url of the COSE public key. */
    publicKey: text("public_key").notNull(),
    counter: bigint("counter", { mode: "number" }).notNull(),
    transports: text("transports").array().notNull(),
    backedUp: boolean("backed_up").notNull(),
    deviceType: text("device_type").$type<PasskeyDeviceType>().notNull(),
    name: text("name").notNull(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    ...timestamps,
  },
  (table) => [index("passkeys_user_id_idx").on(table.userId)],
);

/**
 * The WebAuthn user handle of each user who ever asked to register a passkey: 32 random bytes (base64url), neither
 * the user id nor the email, so an authenticator (or whoever reads it) learns nothing that links it to the account.
 */
export const webauthnUserHandles = pgTable("webauthn_user_handles", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  handle: text("handle").notNull().unique("webauthn_user_handles_handle_unique"),
  createdAt: timestamps.createdAt,
});

/**
 * Challenges handed out in ceremony options, by SHA-256 (the challenge itself travels in the options and comes
 * back inside the signed clientDataJSON). `flow` binds one to what asked for it ("registration:<userId>",
 * "login", "mfa:<mfa challenge id>"); a DELETE ... RETURNING consumes it, so of any number of instances and
 * concurrent requests exactly one can use it, once.
 */
export const webauthnChallenges = pgTable(
  "webauthn_challenges",
  {
    challengeHash: text("challenge_hash").primaryKey(),
    flow: text("flow").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamps.createdAt,
  },
  (table) => [index("webauthn_challenges_expires_at_idx").on(table.expiresAt)],
);
