import type { Context } from "hono";
import type { AppEnv } from "../app-env.ts";
import type { RequestLimits } from "../request-limits.ts";

/** Orchestrators poll these from a few addresses; they are neither blocked by the generic limit nor worth it. */
const OPERATIONS_PATHS = new Set(["/health", "/ready", "/metrics"]);

/**
 * The generic per-IP limit for requests that present no credentials. Requests with a bearer token or the session
 * cookie are limited per session instead (RATE_LIMIT_AUTHENTICATED_SESSION), since an app's backend may call
 * from a handful of addresses at high rates; those whose credentials fail are counted here by `authenticate`.
 * The credential endpoints carry their own, tighter rules.
 *
 * A check for request-guards.ts, not a layer: null when there is nothing to count, so a request that presents
 * credentials goes on without waiting for anything.
 */
export function unauthenticatedLimit(limits: RequestLimits, presentsCredentials: (c: Context<AppEnv>) => boolean) {
  return (c: Context<AppEnv>): Promise<void> | null =>
    presentsCredentials(c) || OPERATIONS_PATHS.has(c.req.path) ? null : limits.consume(c, "unauthenticatedIp", c.get("client").ip);
}
