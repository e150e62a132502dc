import type { Logger } from "../observability/logger.ts";
import { metricsMessageOf } from "./metrics-messages.ts";
import { createMetricsRelay } from "./metrics-relay.ts";
import type { RuntimeAdapter, WorkerProcess } from "./runtime.ts";

/** The variable that tells a process it is worker N of a supervisor (set by the supervisor, not by operators). */
export const WORKER_ID_VARIABLE = "SERVAUTH_WORKER_ID";

export type SupervisorOptions = {
  count: number;
  runtime: Pick<RuntimeAdapter, "startWorker">;
  logger: Logger;
  /** A worker that dies is restarted, but no more than `max` times within `windowMs`; past that the supervisor gives up. */
  restarts: { max: number; windowMs: number };
  /** How long workers get to exit after SIGTERM before they are killed. */
  stopTimeoutMs: number;
};

export type Supervisor = {
  /** The URL the workers listen on. */
  url: string;
  /** SIGTERM to every worker (each drains its requests), SIGKILL to any still there after the timeout; 0 if all exited 0. */
  stop(): Promise<number>;
  /** Resolves with the exit code the supervisor should end with when it gives up on its own (crash loop). */
  failed: Promise<number>;
};

/**
 * Starts `count` workers and resolves once all of them listen. A worker that exits during start-up fails the whole
 * start (the cause, a bad database or port, is shared, so the others would fail too) after stopping the rest. After
 * start-up a worker that dies is restarted at once, with the same id; more than `restarts.max` deaths within
 * `restarts.windowMs` mean something is wrong beyond one process, so every worker is stopped and `failed` resolves
 * with 1, for the orchestrator to see and act on. It also relays the workers' metrics to the one a scrape reached.
 */
export async function superviseWorkers(options: SupervisorOptions): Promise<Supervisor> {
  const { count, runtime, logger } = options;
  const workers = new Map<number, WorkerProcess>();
  /** Workers that have announced they listen: the ones a metrics collection asks. */
  const listening = new Set<WorkerProcess>();
  const metricsRelay = createMetricsRelay(() => [...listening]);
  const deaths: number[] = [];
  let stopping: Promise<number> | undefined;
  let started = false;
  let giveUp: (code: number) => void = () => {};
  const failed = new Promise<number>((resolve) => (giveUp = resolve));

  const start = (id: number): WorkerProcess => {
    const worker = runtime.startWorker({ [WORKER_ID_VARIABLE]: String(id) });
    workers.set(id, worker);
    void worker.listening.then(() => listening.add(worker));
    worker.onMessage((message) => {
      const metrics = metricsMessageOf(message);
      if (metrics !== undefined) metricsRelay.receive(worker, metrics);
    });
    void worker.exited.then((exit) => {
      listening.delete(worker);
      if (workers.get(id) !== worker) return;
      workers.delete(id);
      if (stopping !== undefined || !started) return;
      const now = Date.now();
      deaths.push(now);
      while (deaths[0] !== undefined && deaths[0] < now - options.restarts.windowMs) deaths.shift();
      if (deaths.length > options.restarts.max) {
        logger.fatal({ worker: id, ...exit }, `worker ${id} exited; ${deaths.length} deaths within ${options.restarts.windowMs / 1000} s, giving up`);
        void stop().then(() => giveUp(1));
        return;
      }
      logger.error({ worker: id, ...exit }, `worker ${id} exited (code ${exit.code}, signal ${exit.signal}); restarting it`);
      const replacement = start(id);
      void replacement.listening.then(() => logger.info({ worker: id, pid: replacement.pid }, `worker ${id} restarted`));
    });
    return worker;
  };

  const stop = (): Promise<number> =>
    (stopping ??= (async () => {
      const exits = [...workers.values()].map(async (worker) => {
        worker.kill("SIGTERM");
        const timer = setTimeout(() => worker.kill("SIGKILL"), options.stopTimeoutMs);
        const exit = await worker.exited;
        clearTimeout(timer);
        return exit;
      });
      const results = await Promise.all(exits);
      return results.every((exit) => exit.code === 0) ? 0 : 1;
    })());

  const launched = Array.from({ length: count }, (_, index) => start(index + 1));
  const earlyExit = Promise.race(
    launched.map((worker, index) => worker.exited.then((exit) => ({ id: index + 1, ...exit }))),
  );
  const outcome = await Promise.race([Promise.all(launched.map((worker) => worker.listening)), earlyExit]);
  if (!Array.isArray(outcome)) {
    await stop();
    throw new Error(`worker ${outcome.id} exited during start-up (code ${outcome.code}, signal ${outcome.signal}); see its output above`);
  }
  started = true;
  return { url: outcome[0] ?? "", stop, failed };
}
