import { count, gt, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";

/** Sessions that have not expired: one count query, run at scrape time for the active-sessions gauge. */
export async function countActiveSessions(db: Database): Promise<number> {
  const [row] = await db.select({ value: count() }).from(sessions).where(gt(sessions.expiresAt, sql`now()`));
  return row?.value ?? 0;
}
