import { describeDatabase } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createApp } from "../http/app.ts";
import { createMetricsApp } from "../http/routes/metrics.ts";
import { createLogger } from "../observability/logger.ts";
import { announceListening, detectRuntime, type RuntimeAdapter } from "../server/runtime.ts";
import { superviseWorkers, WORKER_ID_VARIABLE } from "../server/supervisor.ts";
import { linkWorkerMetrics } from "../server/worker-metrics.ts";
import { VERSION } from "../version.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { loadConfig } from "./load-config.ts";
import { openServices } from "./open-services.ts";
import type { AppConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";

/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 10_000;
/** A worker crash is restarted; this many within a minute is a crash loop, and the supervisor exits 1. */
const WORKER_RESTARTS = { max: 5, windowMs: 60_000 };
/** A worker whose supervisor is gone (killed outright) stops too, noticed within this long. */
const ORPHAN_CHECK_MS = 1_000;

/**
 * `servauth serve`: one process serving (WORKERS=1), or a supervisor of WORKERS processes sharing the port. The
 * variable that marks a worker is read here, with the rest of the environment (src/cli is where that happens).
 */
export async function serve(): Promise<void> {
  const config = await loadConfig();
  // Pretty lines only for a developer watching a terminal; anything piped or shipped gets JSON.
  const pretty = config.environment === "development" && process.stdout.isTTY === true;
  const logger = createLogger({ level: config.logLevel, pretty });
  const runtime = await detectRuntime();
  const workerId = process.env[WORKER_ID_VARIABLE];
  if (config.workers > 1 && workerId === undefined) return supervise(config, logger, runtime);
  return serveHere(config, logger, runtime, workerId === undefined ? null : Number(workerId));
}

/**
 * The supervisor: migrates once (so workers start on the current schema and never wait on each other for it),
 * starts the workers, prints the start-up line once they all listen, and on SIGTERM/SIGINT stops them (each drains
 * its requests) and exits 0 when they all did. It serves nothing itself.
 */
async function supervise(config: AppConfig, logger: Logger, runtime: RuntimeAdapter): Promise<void> {
  let stopRequested: string | undefined;
  let stop: (() => Promise<number>) | undefined;
  const shutdown = async (signal: string) => {
    if (stopRequested !== undefined) return;
    stopRequested = signal;
    if (stop === undefined) return; // still starting: handled once the workers are up
    logger.info({ signal }, "shutting down workers");
    process.exit(await stop());
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const database = await createDb(config.database);
  try {
    await migrateDatabase(database);
  } finally {
    await database.close();
  }
  const supervisor = await superviseWorkers({
    count: config.workers,
    runtime,
    logger,
    restarts: WORKER_RESTARTS,
    stopTimeoutMs: DRAIN_TIMEOUT_MS + 5_000,
  });
  stop = supervisor.stop;
  void supervisor.failed.then((code) => process.exit(code));
  if (stopRequested !== undefined) {
    const signal = stopRequested;
    stopRequested = undefined;
    return shutdown(signal);
  }
  const where = describeDatabase(config.database);
  logger.info(
    { url: supervisor.url, appUrl: config.appUrl, docs: docsUrl(config), runtime: runtime.name, database: where, version: VERSION, workers: config.workers },
    `servauth ${VERSION} listening on ${supervisor.url} (${runtime.name}, ${where}, ${config.workers} workers); API reference at ${docsUrl(config)}`,
  );
}

/**
 * Serves in this process: migrate (a worker's supervisor did that already), then listen until SIGTERM/SIGINT, then
 * stop accepting, let in-flight requests finish (bounded), close the database and exit 0. A signal during start-up
 * unwinds what was opened so far.
 */
async function serveHere(config: AppConfig, logger: Logger, runtime: RuntimeAdapter, workerId: number | null): Promise<void> {
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

  if (workerId !== null) exitWithSupervisor(() => void shutdown("supervisor gone"));
  // Only workers exchange metrics over IPC; a single process renders its own, as cheaply as ever.
  const workerMetrics = workerId === null ? undefined : linkWorkerMetrics();
  const opening = openServices(config, logger, {
    migrate: workerId === null,
    gatherWorkerMetrics: workerMetrics?.gather,
    mailOutput: process.stdout,
  });
  // Registered before it is done, so a signal during start-up still closes what it opens. If opening fails it has
  // closed what it opened itself, and the failure is reported by the await below.
  teardown.push(() => opening.then((opened) => opened.teardown(), () => {}));
  const { services } = await opening;
  workerMetrics?.answerWith(services.metrics.snapshot);
  const app = createApp(services, { readSocketAddress: runtime.readSocketAddress });
  const listening = { host: config.host, timeouts: config.http, shared: workerId !== null, logger };
  const server = await runtime.listen(app.fetch, { ...listening, port: config.port });
  teardown.push(() => withTimeout(server.stop(), DRAIN_TIMEOUT_MS));
  if (config.metrics.port !== null) {
    const metricsApp = createMetricsApp(services.metrics, logger);
    const metricsServer = await runtime.listen(metricsApp.fetch, { ...listening, port: config.metrics.port });
    teardown.push(() => withTimeout(metricsServer.stop(), DRAIN_TIMEOUT_MS));
    logger.info({ url: `${metricsServer.url}/metrics` }, `metrics on ${metricsServer.url}/metrics`);
  }
  if (workerId !== null) {
    logger.info({ worker: workerId, pid: process.pid }, `worker ${workerId} ready`);
    announceListening(server.url);
    return;
  }
  const where = describeDatabase(config.database);
  logger.info(
    { url: server.url, appUrl: config.appUrl, docs: docsUrl(config), runtime: runtime.name, database: where, version: VERSION },
    `servauth ${VERSION} listening on ${server.url} (${runtime.name}, ${where}); API reference at ${docsUrl(config)}`,
  );
}

/** The interactive reference at the public URL: the address a reader should open (the listener may be 0.0.0.0). */
function docsUrl(config: AppConfig): string {
  return `${config.appUrl}/docs`;
}

/** Calls `onOrphaned` once this process's parent has changed: its supervisor died without stopping it. */
function exitWithSupervisor(onOrphaned: () => void): void {
  const supervisor = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    onOrphaned();
  }, ORPHAN_CHECK_MS);
  timer.unref?.();
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
With WORKERS=N (PostgreSQL only), this process supervises N server processes on the same port: it passes SIGTERM
and SIGINT on, restarts a worker that dies (${WORKER_RESTARTS.max} deaths within a minute: it stops them all and exits 1).
Configuration comes from the environment: see \`servauth config check\`.
`,
  async run(args) {
    parseCommandArgs(args, {});
    await serve();
  },
};
