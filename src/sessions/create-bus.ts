import type { AppConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import { createPostgresTransport } from "./bus-postgres.ts";
import { createRedisTransport } from "./bus-redis.ts";
import { createBroadcastBus, createInProcessBus, type RevocationBus } from "./revocation-bus.ts";

/** Redis when configured, else PostgreSQL LISTEN/NOTIFY, else (embedded, single process) in-process. */
export async function createRevocationBus(config: AppConfig, logger: Logger): Promise<RevocationBus> {
  const options = { heartbeatMs: config.revocationHeartbeatMs, logger };
  if (config.redisUrl !== null) return createBroadcastBus(createRedisTransport(config.redisUrl), options);
  if (config.database.kind === "postgres") return createBroadcastBus(createPostgresTransport(config.database.url, config.database), options);
  return createInProcessBus();
}
