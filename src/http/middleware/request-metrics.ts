import { createMiddleware } from "hono/factory";
import type { Metrics } from "../../observability/metrics.ts";
import type { AppEnv } from "../app-env.ts";
import { routePattern } from "./route-pattern.ts";

/** Any other method a client makes up is counted as OTHER, so labels stay bounded. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Counts and times every request by route pattern, method and status. */
export function requestMetrics(metrics: Metrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observeRequest({
      method: METHODS.has(c.req.method) ? c.req.method : "OTHER",
      route: routePattern(c),
      status: c.res.status,
      durationSeconds: (performance.now() - started) / 1000,
    });
  });
}
