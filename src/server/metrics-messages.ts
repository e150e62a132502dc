import type { MetricFamily } from "../observability/metric-family.ts";

/**
 * What workers and their supervisor say to each other over IPC so that /metrics, whichever worker a scrape reaches,
 * reports the whole instance. The worker that was asked sends `gather`; the supervisor sends `collect` to every
 * worker that listens (the asker included) and relays their `snapshot`s back in one `gathered`.
 */
export type MetricsMessage =
  | { servauth: "metrics-gather"; id: number }
  | { servauth: "metrics-collect"; id: number }
  | { servauth: "metrics-snapshot"; id: number; families: MetricFamily[] }
  | { servauth: "metrics-gathered"; id: number; workers: MetricFamily[][] };

const KINDS = new Set<unknown>(["metrics-gather", "metrics-collect", "metrics-snapshot", "metrics-gathered"]);

/** The message, if it is one of these (IPC also carries other messages, e.g. the listening announcement). */
export function metricsMessageOf(message: unknown): MetricsMessage | undefined {
  const candidate = message as Partial<MetricsMessage> | null;
  return KINDS.has(candidate?.servauth) && typeof candidate?.id === "number" ? (candidate as MetricsMessage) : undefined;
}
