import { AggregatorRegistry } from "prom-client";
import type { MetricFamily } from "./metric-family.ts";

/**
 * One exposition text for the whole instance from every worker's families: each family combined by its
 * `aggregator` (prom-client's: sum unless the metric says otherwise, e.g. event-loop lag is averaged and the
 * process start time left out).
 */
export async function renderAggregate(workers: MetricFamily[][]): Promise<string> {
  // Node's cluster IPC is JSON, where a NaN (a gauge that could not be read) becomes null: make it NaN again.
  const revived = workers.map((families) =>
    families.map((family) => ({ ...family, values: family.values.map((value) => ({ ...value, value: value.value ?? Number.NaN })) })),
  );
  return AggregatorRegistry.aggregate(revived).metrics();
}
