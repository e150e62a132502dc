import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { rateLimits } from "../db/tables/rate-limits.ts";
import type { OrderedCounts, RateLimitStore } from "./rate-limit-store.ts";

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
  // hitInOrder: the function of migration 0010, whose statements' plans PostgreSQL caches per connection.
  const inOrder = db
    .select({ count: sql<number>`step_count`, resetAtMs: sql<number | null>`step_reset_at_ms` })
    .from(
      sql`rate_limit_in_order(${sql.placeholder("keys")}::text[], ${sql.placeholder("kinds")}::text[], ${sql.placeholder("windowMs")}::bigint[], ${sql.placeholder("maxes")}::integer[])`,
    )
    .prepare("rate_limit_in_order");
  const remove = db.delete(rateLimits).where(eq(rateLimits.key, sql.placeholder("key"))).prepare("rate_limit_reset");
  async function cleanUp(now: number) {
    if (now < nextCleanupAt) return;
    nextCleanupAt = now + 60_000;
    // Finished windows are dead weight; whichever instance notices first removes them.
    await db.delete(rateLimits).where(lte(rateLimits.resetAt, new Date(now)));
  }
  return {
    async hit(key, windowMs, weight = 1) {
      const now = Date.now();
      await cleanUp(now);
      const [row] = await upsert.execute({ key, weight, resetAt: new Date(now + windowMs) });
      if (row === undefined) throw new Error("rate limit upsert returned nothing");
      return { count: row.count, resetAt: row.resetAt.getTime() };
    },
    async peek(key) {
      // A bare placeholder in a condition gets no column encoder: the timestamp goes as the text drizzle would send.
      const [row] = await current.execute({ key, now: new Date().toISOString() });
      return row?.count ?? 0;
    },
    async hitInOrder(steps) {
      await cleanUp(Date.now());
      const rows = await inOrder.execute({
        keys: steps.map((step) => step.key),
        kinds: steps.map((step) => (step.peek === true ? "peek" : "hit")),
        windowMs: steps.map((step) => step.windowMs),
        maxes: steps.map((step) => step.max),
      });
      return rows.map((row): OrderedCounts[number] => ({ count: Number(row.count), resetAt: row.resetAtMs === null ? null : Math.round(Number(row.resetAtMs)) }));
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
