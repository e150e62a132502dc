import { createArgon2Hasher } from "../auth/password.ts";
import { describeDatabase } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { createMailer } from "../delivery/create-mailer.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createApp } from "../http/app.ts";
import { createMetricsApp } from "../http/routes/metrics.ts";
import { createLogger } from "../observability/logger.ts";
import { detectRuntime } from "../server/runtime.ts";
import { createRevocationBus } from "../sessions/create-bus.ts";
import { createServices } from "../services.ts";
import { VERSION } from "../version.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { loadConfig } from "./load-config.ts";

/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * `servauth serve`: migrate, then listen until SIGTERM/SIGINT, then stop accepting, let in-flight requests
 * finish (bounded), close the database and exit 0. A signal during start-up unwinds what was opened so far.
 */
export async function serve(): Promise<void> {
  const config = await loadConfig();
  // Pretty lines only for a developer watching a terminal; anything piped or shipped gets JSON.
  const pretty = config.environment === "development" && process.stdout.isTTY === true;
  const logger = createLogger({ level: config.logLevel, pretty });
  const teardown: Array<() => Promise<void>> = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    try {
      for (const step of teardown.reverse()) await step();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const runtime = await detectRuntime();
  const database = await createDb(config.database);
  teardown.push(() => database.close());
  await migrateDatabase(database);
  const bus = await createRevocationBus(config, logger);
  teardown.push(() => bus.close());
  const mailer = createMailer(config, logger);
  teardown.push(() => mailer.close());
  const services = await createServices({ config, database, bus, hasher: createArgon2Hasher(), logger, mailer });
  teardown.push(() => services.close());
  const app = createApp(services, { readSocketAddress: runtime.readSocketAddress });
  const server = await runtime.listen(app.fetch, { host: config.host, port: config.port });
  teardown.push(() => withTimeout(server.stop(), DRAIN_TIMEOUT_MS));
  if (config.metrics.port !== null) {
    const metricsServer = await runtime.listen(createMetricsApp(services.metrics, logger).fetch, { host: config.host, port: config.metrics.port });
    teardown.push(() => withTimeout(metricsServer.stop(), DRAIN_TIMEOUT_MS));
    logger.info({ url: `${metricsServer.url}/metrics` }, `metrics on ${metricsServer.url}/metrics`);
  }
  const where = describeDatabase(config.database);
  logger.info(
    { url: server.url, appUrl: config.appUrl, runtime: runtime.name, database: where, version: VERSION },
    `servauth ${VERSION} listening on ${server.url} (${runtime.name}, ${where})`,
  );
}

/** Resolves when the promise settles or the time is up, whichever is first. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const serveCommand: Command = {
  name: "serve",
  summary: "run the HTTP server (applies migrations first)",
  help: `usage: servauth serve

Applies pending migrations, then serves HTTP on HOST:PORT until SIGTERM or SIGINT, when it stops accepting
connections, lets requests in flight finish (at most ${DRAIN_TIMEOUT_MS / 1000} s), closes the database and exits 0.
Configuration comes from the environment: see \`servauth config check\`.
`,
  async run(args) {
    parseCommandArgs(args, {});
    await serve();
  },
};
