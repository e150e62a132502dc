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
  // Prepared once: a hit runs on every login and every unauthenticated request, and a prepared statement skips
  // drizzle's query building on our side and parsing and planning on the server's.
  const upsert = db
    .insert(rateLimits)
    .values({ key: sql.placeholder("key"), count: sql.placeholder("weight"), resetAt: sql.placeholder("resetAt") })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${rateLimits.resetAt} <= now() then excluded.count else ${rateLimits.count} + excluded.count end`,
        resetAt: sql`case when ${rateLimits.resetAt} <= now() then excluded.reset_at else ${rateLimits.resetAt} end`,
      },
    })
    .returning({ count: rateLimits.count, resetAt: rateLimits.resetAt })
    .prepare("rate_limit_hit");
  const current = db
    .select({ count: rateLimits.count })
    .from(rateLimits)
    .where(and(eq(rateLimits.key, sql.placeholder("key")), gt(rateLimits.resetAt, sql.placeholder("now"))))
    .prepare("rate_limit_peek");
  const giveBack = db
    .update(rateLimits)
    .set({ count: sql`${rateLimits.count} - 1` })
    .where(and(eq(rateLimits.key, sql.placeholder("key")), gt(rateLimits.count, 0), gt(rateLimits.resetAt, sql.placeholder("now"))))
    .prepare("rate_limit_decrement");
  const remove = db.delete(rateLimits).where(eq(rateLimits.key, sql.placeholder("key"))).prepare("rate_limit_reset");
  return {
    async hit(key, windowMs, weight = 1) {
      const now = Date.now();
      if (now >= nextCleanupAt) {
        nextCleanupAt = now + 60_000;
        // Finished windows are dead weight; whichever instance notices first removes them.
        await db.delete(rateLimits).where(lte(rateLimits.resetAt, new Date(now)));
      }
      const [row] = await upsert.execute({ key, weight, resetAt: new Date(now + windowMs) });
      if (row === undefined) throw new Error("rate limit upsert returned nothing");
      return { count: row.count, resetAt: row.resetAt.getTime() };
    },
    async peek(key) {
      // A bare placeholder in a condition gets no column encoder: the timestamp goes as the text drizzle would send.
      const [row] = await current.execute({ key, now: new Date().toISOString() });
      return row?.count ?? 0;
    },
    async decrement(key) {
      await giveBack.execute({ key, now: new Date().toISOString() });
    },
    async reset(key) {
      await remove.execute({ key });
    },
    close: async () => {},
  };
}
