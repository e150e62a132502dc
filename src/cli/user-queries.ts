import { and, asc, count, eq, gt } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";

/** Every user, oldest first, with the number of sessions that have not expired. */
export async function listUsersWithSessionCounts(db: Database, now = new Date()): Promise<Array<{ user: UserRow; activeSessions: number }>> {
  return db
    .select({ user: users, activeSessions: count(sessions.id) })
    .from(users)
    .leftJoin(sessions, and(eq(sessions.userId, users.id), gt(sessions.expiresAt, now)))
    .groupBy(users.id)
    .orderBy(asc(users.createdAt), asc(users.id));
}
