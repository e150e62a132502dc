import type { Aggregator } from "prom-client";

/**
 * One metric family as plain data, the shape of prom-client's `getMetricsAsJSON()`: what a worker process sends
 * its supervisor so that a scrape can add up every worker's figures (see aggregate-metrics.ts). `aggregator` says
 * how: sum when absent.
 */
export type MetricFamily = {
  name: string;
  help: string;
  type: unknown;
  aggregator?: Aggregator;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
};
