import { Redis } from "ioredis";
import type { OrderedCounts, RateLimitStore } from "./rate-limit-store.ts";

/** INCRBY the weight, and start the window's expiry on its first hit, in one atomic script. Returns [count, ms left]. */
const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** DECR a live counter above 0 (DECR keeps its expiry); a missing or expired key stays missing. */
const DECREMENT_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * HIT_SCRIPT and GET for each key in turn, stopping after the first past its limit. ARGV holds, per key, "hit" or
 * "peek", the window in ms and the limit; anything but "peek" counts (as the PostgreSQL function does), so a
 * mistake errs on the side of counting. Returns [count, ms left] per step run (ms left -2: no live window).
 */
const IN_ORDER_SCRIPT = `
local seen = {}
for i, key in ipairs(KEYS) do
  local kind, window, max = ARGV[i * 3 - 2], ARGV[i * 3 - 1], tonumber(ARGV[i * 3])
  local count
  if kind == 'peek' then
    count = tonumber(redis.call('GET', key) or '0')
  else
    count = redis.call('INCR', key)
    if count == 1 then redis.call('PEXPIRE', key, window) end
  end
  seen[i] = {count, redis.call('PTTL', key)}
  if (kind == 'hit' and count > max) or (kind == 'peek' and count >= max) then break end
end
return seen`;

/**
 * Counters in Redis, shared by every instance. A command waits for the connection (start-up) but fails within
 * about a second when Redis is down: one reconnect attempt, then the limiter's fail mode decides.
 */
export function createRedisRateLimitStore(url: string): RateLimitStore {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
  redis.on("error", () => {}); // surfaced per command; the limiter decides what a failure means
  const key = (name: string) => `servauth:rl:${name}`;
  return {
    async hit(name, windowMs, weight = 1) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, key(name), windowMs, weight)) as [number, number];
      return { count, resetAt: Date.now() + Math.max(ttl, 0) };
    },
    async peek(name) {
      return Number((await redis.get(key(name))) ?? 0);
    },
    async hitInOrder(steps) {
      const args = steps.flatMap((step) => [step.peek === true ? "peek" : "hit", step.windowMs, step.max]);
      const seen = (await redis.eval(IN_ORDER_SCRIPT, steps.length, ...steps.map((step) => key(step.key)), ...args)) as Array<[number, number]>;
      const at = Date.now();
      return seen.map(([count, ttl]): OrderedCounts[number] => ({ count, resetAt: ttl >= 0 ? at + ttl : null }));
    },
    async decrement(name) {
      await redis.eval(DECREMENT_SCRIPT, 1, key(name));
    },
    async reset(name) {
      await redis.del(key(name));
    },
    async close() {
      redis.disconnect();
    },
  };
}
