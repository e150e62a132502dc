import { createArgon2Hasher } from "../auth/password.ts";
import { describeDatabase } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createApp } from "../http/app.ts";
import { createLogger } from "../observability/logger.ts";
import { detectRuntime } from "../server/runtime.ts";
import { createServices } from "../services.ts";
import { loadConfig } from "./load-config.ts";
import { VERSION } from "../version.ts";

/** `servauth serve`: migrate, then listen until SIGTERM/SIGINT, then drain and close. */
export async function serve(): Promise<void> {
  const config = await loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const runtime = await detectRuntime();
  const database = await createDb(config.database);
  await migrateDatabase(database);
  const services = await createServices({ config, database, hasher: createArgon2Hasher(), logger });
  const app = createApp(services, { readSocketAddress: runtime.readSocketAddress });
  const server = await runtime.listen(app.fetch, { host: config.host, port: config.port });
  logger.info(
    { url: server.url, runtime: runtime.name, database: describeDatabase(config.database), version: VERSION },
    `servauth ${VERSION} listening on ${server.url} (${runtime.name}, ${describeDatabase(config.database)})`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await server.stop();
    await database.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
