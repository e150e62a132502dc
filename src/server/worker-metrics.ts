import { AppError } from "../errors.ts";
import type { MetricFamily } from "../observability/metric-family.ts";
import { type MetricsMessage, metricsMessageOf } from "./metrics-messages.ts";

/** The supervisor answers within its own collection timeout; past this one it is stuck or gone. */
const GATHER_TIMEOUT_MS = 5_000;

export type WorkerMetricsLink = {
  /** Every listening worker's figures, this one's included, via the supervisor. */
  gather(): Promise<MetricFamily[][]>;
  /** What this worker answers when the supervisor collects (set once the services exist). */
  answerWith(snapshot: () => Promise<MetricFamily[]>): void;
};

/** The worker's side of the metrics exchange with its supervisor (see metrics-messages.ts). */
export function linkWorkerMetrics(): WorkerMetricsLink {
  let nextId = 0;
  const pending = new Map<number, (workers: MetricFamily[][]) => void>();
  let snapshot: (() => Promise<MetricFamily[]>) | undefined;
  const send = (message: MetricsMessage) => process.send?.(message);

  process.on("message", (raw: unknown) => {
    const message = metricsMessageOf(raw);
    if (message?.servauth === "metrics-collect" && snapshot !== undefined) {
      const { id } = message;
      // A worker that cannot answer is left out of that scrape once the supervisor's collection times out.
      snapshot().then(
        (families) => send({ servauth: "metrics-snapshot", id, families }),
        () => {},
      );
    } else if (message?.servauth === "metrics-gathered") {
      pending.get(message.id)?.(message.workers);
    }
  });

  return {
    gather() {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new AppError("DEPENDENCY_UNAVAILABLE", { message: "the supervisor did not gather the workers' metrics in time" }));
        }, GATHER_TIMEOUT_MS);
        pending.set(id, (workers) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(workers);
        });
        send({ servauth: "metrics-gather", id });
      });
    },
    answerWith(answer) {
      snapshot = answer;
    },
  };
}
