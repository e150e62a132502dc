import type { MetricFamily } from "./metric-family.ts";

type Labels = { method: string; route: string; status: number };
/** One (method, route, status) series: its request count, total seconds and per-bucket counts (not cumulative). */
type Series = { labels: string; labelValues: Labels; count: number; sum: number; buckets: number[] };

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The HTTP request counter and duration histogram, kept by hand instead of by prom-client: its inc()/observe()
 * hash and validate the label object on every call, which cost GET /auth/me about a fifth of its CPU. Here a
 * request costs one Map lookup by a string key; the exposition text is built only when /metrics is scraped.
 */
export function createRequestStats(names: { total: string; duration: string }, upperBounds: readonly number[]) {
  const series = new Map<string, Series>();
  const help = {
    total: "HTTP requests answered, by route pattern, method and status",
    duration: "Time to answer an HTTP request, by route pattern, method and status",
  };

  function render(): string {
    const total = [`# HELP ${names.total} ${help.total}`, `# TYPE ${names.total} counter`];
    const duration = [`# HELP ${names.duration} ${help.duration}`, `# TYPE ${names.duration} histogram`];
    for (const { labels, count, sum, buckets } of series.values()) {
      total.push(`${names.total}{${labels}} ${count}`);
      let cumulative = 0;
      upperBounds.forEach((bound, i) => {
        cumulative += buckets[i] ?? 0;
        duration.push(`${names.duration}_bucket{le="${bound}",${labels}} ${cumulative}`);
      });
      duration.push(`${names.duration}_bucket{le="+Inf",${labels}} ${count}`);
      duration.push(`${names.duration}_sum{${labels}} ${sum}`, `${names.duration}_count{${labels}} ${count}`);
    }
    return `${total.join("\n")}\n\n${duration.join("\n")}\n`;
  }

  /** The same figures as prom-client's JSON, for a supervisor to add up over its workers (counts sum). */
  function snapshot(): MetricFamily[] {
    const total: MetricFamily["values"] = [];
    const duration: MetricFamily["values"] = [];
    for (const { labelValues: labels, count, sum, buckets } of series.values()) {
      total.push({ labels, value: count });
      let cumulative = 0;
      upperBounds.forEach((bound, i) => {
        cumulative += buckets[i] ?? 0;
        duration.push({ metricName: `${names.duration}_bucket`, labels: { le: bound, ...labels }, value: cumulative });
      });
      duration.push({ metricName: `${names.duration}_bucket`, labels: { le: "+Inf", ...labels }, value: count });
      duration.push({ metricName: `${names.duration}_sum`, labels, value: sum });
      duration.push({ metricName: `${names.duration}_count`, labels, value: count });
    }
    return [
      { name: names.total, help: help.total, type: "counter", aggregator: "sum", values: total },
      { name: names.duration, help: help.duration, type: "histogram", aggregator: "sum", values: duration },
    ];
  }

  return {
    observe(method: string, route: string, status: number, seconds: number): void {
      const key = `${method} ${status} ${route}`;
      let entry = series.get(key);
      if (entry === undefined) {
        const labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
        entry = { labels, labelValues: { method, route, status }, count: 0, sum: 0, buckets: upperBounds.map(() => 0) };
        series.set(key, entry);
      }
      entry.count += 1;
      entry.sum += seconds;
      for (let i = 0; i < upperBounds.length; i++) {
        if (seconds <= (upperBounds[i] ?? 0)) {
          entry.buckets[i] = (entry.buckets[i] ?? 0) + 1;
          break;
        }
      }
    },
    render,
    snapshot,
  };
}
