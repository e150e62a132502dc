import { bigint, index, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./timestamps.ts";
import { users } from "./users.ts";

export const SECOND_FACTOR_TYPES = ["totp", "email"] as const;
export type SecondFactorType = (typeof SECOND_FACTOR_TYPES)[number];

/**
 * A user's second factors, at most one per type. A row is pending until its owner proves it with a code
 * (confirmed_at set); only confirmed rows count. TOTP secrets are sealed under AUTH_SECRET (src/mfa/totp.ts),
 * never stored in the clear.
 */
export const secondFactors = pgTable(
  "second_factors",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").$type<SecondFactorType>().notNull(),
    /** TOTP: the sealed base32 secret. Email: null (the codes go to the account's address). */
    sealedSecret: text("sealed_secret"),
    /** Email enrolment: the pending confirmation code as "nonce.hmac" (src/otp/codes.ts), and its expiry. */
    pendingCodeHash: text("pending_code_hash"),
    pendingCodeExpiresAt: timestamp("pending_code_expires_at", { withTimezone: true }),
    confirmedAt: timestamp("confirmed_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    /** TOTP: the last accepted time step; a step is accepted once (`where last_used_step < $step`). */
    lastUsedStep: bigint("last_used_step", { mode: "number" }),
    ...timestamps,
  },
  (table) => [uniqueIndex("second_factors_user_id_type_unique").on(table.userId, table.type)],
);

/** Recovery codes: SHA-256 HMACs only, each usable once (used_at set by one conditional update). */
export const recoveryCodes = pgTable(
  "recovery_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    createdAt: timestamps.createdAt,
  },
  (table) => [uniqueIndex("recovery_codes_user_id_code_hash_unique").on(table.userId, table.codeHash)],
);

/**
 * Sign-ins waiting for their second factor: what an mfaToken (stored as SHA-256) stands for. The first factor is
 * proven; the row says whose and how, allows `attempts_left` wrong codes (counted down by a conditional update) and
 * is deleted by the right one, so a token signs in once. An emailed code for it is kept here as a hash.
 */
export const mfaChallenges = pgTable(
  "mfa_challenges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: text("token_hash").notNull().unique("mfa_challenges_token_hash_unique"),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The first factor's RFC 8176 method and when it was proven. */
    firstMethod: text("first_method").notNull(),
    firstProvenAt: timestamp("first_proven_at", { withTimezone: true }).notNull(),
    attemptsLeft: smallint("attempts_left").notNull(),
    emailCodeHash: text("email_code_hash"),
    emailCodeExpiresAt: timestamp("email_code_expires_at", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamps.createdAt,
  },
  (table) => [index("mfa_challenges_expires_at_idx").on(table.expiresAt), index("mfa_challenges_user_id_idx").on(table.userId)],
);
