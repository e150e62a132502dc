import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import { createMemoryRateLimitStore, type RateLimitStore } from "./rate-limit-store.ts";
import { createPostgresRateLimitStore } from "./rate-limit-store-postgres.ts";
import { createRedisRateLimitStore } from "./rate-limit-store-redis.ts";

/** The store RATE_LIMIT_STORE names (auto: Redis, else the PostgreSQL server, else memory). */
export function createRateLimitStore(config: AppConfig, db: Database): RateLimitStore {
  switch (config.abuse.store) {
    case "redis":
      if (config.redisUrl === null) throw new Error("RATE_LIMIT_STORE=redis needs REDIS_URL");
      return createRedisRateLimitStore(config.redisUrl);
    case "postgres":
      return createPostgresRateLimitStore(db);
    case "memory":
      return createMemoryRateLimitStore();
  }
}
