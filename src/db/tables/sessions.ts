import { sql } from "drizzle-orm";
import { index, pgTable, smallint, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { AssuranceLevel, AuthMethod } from "../../sessions/assurance.ts";
import { timestamps } from "./timestamps.ts";
import { users } from "./users.ts";

/**
 * The PRD's `sessions` table: one login on one device. Better-Auth's `session` model maps onto it with its
 * `token` field stored in `token_hash`; Servauth creates the rows itself so only a SHA-256 of the cookie is kept.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique("sessions_token_hash_unique"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    /** Moved forward at most once a minute per session, so validation never writes per request. */
    lastActiveAt: timestamp("last_active_at", { withTimezone: true }).notNull().defaultNow(),
    /** How the session was authenticated (src/sessions/assurance.ts): RFC 8176 methods in the order used. */
    amr: text("amr").array().$type<AuthMethod[]>().notNull().default(sql`'{}'::text[]`),
    /** 1, or 2 once two distinct kinds of factor were proven. */
    aal: smallint("aal").$type<AssuranceLevel>().notNull().default(1),
    /** The last proof of a factor (sign-in or re-authentication): what step-up checks against STEP_UP_MAX_AGE. */
    authTime: timestamp("auth_time", { withTimezone: true }).notNull().defaultNow(),
    /**
     * Set on a session an administrator opened as this user (src/admin/impersonation.ts): its tokens carry
     * `act: {sub}` and it can take no sensitive action. The administrator's deletion ends it.
     */
    impersonatorId: uuid("impersonator_id").references(() => users.id, { onDelete: "cascade" }),
    ...timestamps,
  },
  (table) => [index("sessions_user_id_created_at_idx").on(table.userId, table.createdAt)],
);

/** Opaque refresh tokens, stored as SHA-256, each bound to one session; rotated on use. */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique("refresh_tokens_token_hash_unique"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** Set when the token is exchanged; a replaced token is no longer current. */
    replacedAt: timestamp("replaced_at", { withTimezone: true }),
    createdAt: timestamps.createdAt,
  },
  (table) => [index("refresh_tokens_session_id_idx").on(table.sessionId)],
);
