import type { MetricFamily } from "../observability/metric-family.ts";
import type { MetricsMessage } from "./metrics-messages.ts";
import type { WorkerProcess } from "./runtime.ts";

/**
 * How long the supervisor waits for every worker's snapshot. A worker that has not answered by then (stuck, or
 * dying) is left out of that scrape, which servauth_workers_reporting shows, rather than failing the scrape.
 */
const COLLECT_TIMEOUT_MS = 2_000;

type Collection = { waiting: Set<WorkerProcess>; workers: MetricFamily[][]; finish(): void };

/** The supervisor's side of the metrics exchange (see metrics-messages.ts): it relays, it never reads a metric. */
export function createMetricsRelay(listeningWorkers: () => WorkerProcess[]) {
  let nextId = 0;
  const collections = new Map<number, Collection>();

  function gather(asker: WorkerProcess, askerId: number): void {
    const id = nextId++;
    const targets = listeningWorkers();
    const collection: Collection = {
      waiting: new Set(targets),
      workers: [],
      finish() {
        clearTimeout(timer);
        collections.delete(id);
        asker.send({ servauth: "metrics-gathered", id: askerId, workers: collection.workers } satisfies MetricsMessage);
      },
    };
    const timer = setTimeout(() => collection.finish(), COLLECT_TIMEOUT_MS);
    collections.set(id, collection);
    for (const worker of targets) worker.send({ servauth: "metrics-collect", id } satisfies MetricsMessage);
    if (targets.length === 0) collection.finish();
  }

  return {
    /** Handles a metrics message `from` a worker. */
    receive(from: WorkerProcess, message: MetricsMessage): void {
      if (message.servauth === "metrics-gather") return gather(from, message.id);
      if (message.servauth !== "metrics-snapshot") return;
      const collection = collections.get(message.id);
      if (collection === undefined || !collection.waiting.delete(from)) return; // late, after the timeout
      collection.workers.push(message.families);
      if (collection.waiting.size === 0) collection.finish();
    },
  };
}
