import { sql } from "drizzle-orm";
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
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
    ...timestamps,
  },
  (table) => [
    uniqueIndex("users_username_lower_unique").on(sql`lower(${table.username})`),
    index("users_deletion_scheduled_at_idx").on(table.deletionScheduledAt).where(sql`${table.deletionScheduledAt} is not null`),
  ],
);
