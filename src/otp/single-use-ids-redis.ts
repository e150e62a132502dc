import { Redis } from "ioredis";
import { AppError } from "../errors.ts";
import { hashId, type SingleUseIds } from "./single-use-ids.ts";

/**
 * In Redis (when REDIS_URL is set): SET NX with the state's remaining lifetime, consumed by DEL (atomic: one caller
 * sees 1). A Redis failure refuses the request (503): without the store no state can be proven unused.
 */
export function createRedisSingleUseIds(url: string): SingleUseIds {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
  redis.on("error", () => {}); // surfaced per command
  const key = (id: string) => `servauth:otp:${hashId(id)}`;
  const failClosed = async <T>(command: () => Promise<T>): Promise<T> => {
    try {
      return await command();
    } catch (cause) {
      throw new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5, cause });
    }
  };
  return {
    async issue(id, expiresAt) {
      const ttlMs = Math.max(expiresAt.getTime() - Date.now(), 1);
      await failClosed(() => redis.set(key(id), "1", "PX", ttlMs, "NX"));
    },
    consume: (id) => failClosed(async () => (await redis.del(key(id))) === 1),
    isLive: (id) => failClosed(async () => (await redis.exists(key(id))) === 1),
    purgeExpired: async () => {},
    async close() {
      redis.disconnect();
    },
  };
}
