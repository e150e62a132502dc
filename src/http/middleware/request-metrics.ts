import type { Context } from "hono";
import type { Metrics } from "../../observability/metrics.ts";
import type { AppEnv } from "../app-env.ts";
import { routePattern } from "./route-pattern.ts";

/** Any other method a client makes up is counted as OTHER, so labels stay bounded. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Counts and times the request by route pattern, method and status, once its response is ready. */
export function observeRequest(metrics: Metrics, c: Context<AppEnv>, started: number): void {
  metrics.observeRequest({
    method: METHODS.has(c.req.method) ? c.req.method : "OTHER",
    route: routePattern(c),
    status: c.res.status,
    durationSeconds: (performance.now() - started) / 1000,
  });
}
