import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { uniqueViolationConstraint } from "../db/errors.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";

export type UserRow = typeof users.$inferSelect;

/** The user as clients see it: never a hash, a token or an internal field. */
export type PublicUser = {
  id: string;
  email: string;
  username: string | null;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
};

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    emailVerified: row.emailVerified,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function isEmailTaken(db: Database, email: string): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  return row !== undefined;
}

/** Usernames are unique regardless of case (the users_username_lower_unique index). */
export async function isUsernameTaken(db: Database, username: string, exceptUserId?: string): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.username}) = lower(${username})`);
  return row !== undefined && row.id !== exceptUserId;
}

export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row;
}

/**
 * The user with this address, created without a password if there is none (one-time-code sign-up: the code
 * proved the mailbox, so the address is verified). A concurrent creation of the same address settles on one user.
 */
export async function findOrCreatePasswordlessUser(db: Database, email: string): Promise<{ user: UserRow; created: boolean }> {
  const [created] = await db.insert(users).values({ email, emailVerified: true }).onConflictDoNothing({ target: users.email }).returning();
  if (created !== undefined) return { user: created, created: true };
  const existing = await findUserByEmail(db, email);
  if (existing === undefined) throw new Error("the user that blocked the insert is gone");
  return { user: existing, created: false };
}

const CONSTRAINT_ERRORS: Record<string, AppError["code"]> = {
  users_email_unique: "EMAIL_TAKEN",
  users_username_lower_unique: "USERNAME_TAKEN",
};

/**
 * A write's unique violation as EMAIL_TAKEN or USERNAME_TAKEN; any other error unchanged. The checks before a write
 * race with other writers; the unique indexes have the last word.
 */
export function asTakenError(error: unknown): unknown {
  const code = CONSTRAINT_ERRORS[uniqueViolationConstraint(error) ?? ""];
  return code === undefined ? error : new AppError(code);
}
