import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { rateLimits } from "../db/tables/rate-limits.ts";
import type { RateLimitStore } from "./rate-limit-store.ts";

/**
 * Counters shared by every instance on one PostgreSQL (or on PGlite). A hit is a single upsert that restarts
 * an expired window or adds one, so concurrent hits serialize on the row and each sees its own count.
 */
export function createPostgresRateLimitStore(db: Database): RateLimitStore {
  let nextCleanupAt = 0;
  return {
    async hit(key, windowMs) {
      const now = Date.now();
      if (now >= nextCleanupAt) {
        nextCleanupAt = now + 60_000;
        // Finished windows are dead weight; whichever instance notices first removes them.
        await db.delete(rateLimits).where(lte(rateLimits.resetAt, new Date(now)));
      }
      const resetAt = new Date(now + windowMs);
      const [row] = await db
        .insert(rateLimits)
        .values({ key, count: 1, resetAt })
        .onConflictDoUpdate({
          target: rateLimits.key,
          set: {
            count: sql`case when ${rateLimits.resetAt} <= now() then 1 else ${rateLimits.count} + 1 end`,
            resetAt: sql`case when ${rateLimits.resetAt} <= now() then excluded.reset_at else ${rateLimits.resetAt} end`,
          },
        })
        .returning({ count: rateLimits.count, resetAt: rateLimits.resetAt });
      if (row === undefined) throw new Error("rate limit upsert returned nothing");
      return { count: row.count, resetAt: row.resetAt.getTime() };
    },
    async peek(key) {
      const [row] = await db
        .select({ count: rateLimits.count })
        .from(rateLimits)
        .where(and(eq(rateLimits.key, key), gt(rateLimits.resetAt, new Date())));
      return row?.count ?? 0;
    },
    async reset(key) {
      await db.delete(rateLimits).where(eq(rateLimits.key, key));
    },
    close: async () => {},
  };
}
