import { Redis } from "ioredis";
import type { RateLimitStore } from "./rate-limit-store.ts";

/** INCR, and start the window's expiry on its first hit, in one atomic script. Returns [count, ms left]. */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/**
 * Counters in Redis, shared by every instance. A command waits for the connection (start-up) but fails within
 * about a second when Redis is down: one reconnect attempt, then the limiter's fail mode decides.
 */
export function createRedisRateLimitStore(url: string): RateLimitStore {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
  redis.on("error", () => {}); // surfaced per command; the limiter decides what a failure means
  const key = (name: string) => `servauth:rl:${name}`;
  return {
    async hit(name, windowMs) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, key(name), windowMs)) as [number, number];
      return { count, resetAt: Date.now() + Math.max(ttl, 0) };
    },
    async peek(name) {
      return Number((await redis.get(key(name))) ?? 0);
    },
    async reset(name) {
      await redis.del(key(name));
    },
    async close() {
      redis.disconnect();
    },
  };
}
