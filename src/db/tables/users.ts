import { sql } from "drizzle-orm";
import { boolean, check, index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
import { timestamps } from "./timestamps.ts";

/**
 * The PRD's `users` table, also Better-Auth's `user` model. The password hash is not here: Better-Auth keeps it
 * in `accounts` (provider "credential"), see docs/data-model.md.
 */
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: varchar("email", { length: 255 }).notNull().unique("users_email_unique"),
    username: varchar("username", { length: 100 }),
    /** Better-Auth requires a display name; Servauth does not expose it yet and stores "". */
    name: text("name").notNull().default(""),
    image: text("image"),
    emailVerified: boolean("email_verified").notNull().default(false),
    /** Set while a deletion waits out ACCOUNT_DELETION_GRACE; the sweep deletes the user once it has passed. */
    deletionScheduledAt: timestamp("deletion_scheduled_at", { withTimezone: true }),
    /**
     * Whether the user has a confirmed second factor (kept with second_factors in one transaction). On the row the
     * hot path caches, so the sign-in flow and the MFA_POLICY gate need no query of their own.
     */
    mfaEnabled: boolean("mfa_enabled").notNull().default(false),
    /**
     * The user's roles (src/admin/roles.ts): a set kept sorted, always holding `user`. An array on the row rather
     * than a join table, so the session read that already joins the user brings the roles to the hot-path cache.
     */
    roles: text("roles").array().notNull().default(sql`'{user}'::text[]`),
    /** Set while an administrator's ban holds (src/admin/bans.ts); a ban with banExpiresAt in the past has lifted. */
    bannedAt: timestamp("banned_at", { withTimezone: true }),
    banReason: text("ban_reason"),
    banExpiresAt: timestamp("ban_expires_at", { withTimezone: true }),
    ...timestamps,
  },
  (table) => [
    uniqueIndex("users_username_lower_unique").on(sql`lower(${table.username})`),
    index("users_deletion_scheduled_at_idx").on(table.deletionScheduledAt).where(sql`${table.deletionScheduledAt} is not null`),
    index("users_roles_idx").using("gin", table.roles),
    index("users_created_at_id_idx").on(table.createdAt, table.id),
    check("users_roles_include_user", sql`'user' = any(${table.roles})`),
  ],
);
