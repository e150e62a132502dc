import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import type { RequestLimits } from "../request-limits.ts";

/** Orchestrators poll these from a few addresses; they are neither blocked by the generic limit nor worth it. */
const OPERATIONS_PATHS = new Set(["/health", "/ready", "/metrics"]);

/**
 * The generic per-IP limit for requests that present no credentials. Requests with a bearer token or the session
 * cookie are limited per session instead (RATE_LIMIT_AUTHENTICATED_SESSION), since an app's backend may call
 * from a handful of addresses at high rates; those whose credentials fail are counted here by `authenticate`.
 * The credential endpoints carry their own, tighter rules.
 */
export function unauthenticatedLimit(limits: RequestLimits, sessionCookieName: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const presentsCredentials = c.req.header("authorization") !== undefined || getCookie(c, sessionCookieName) !== undefined;
    if (!presentsCredentials && !OPERATIONS_PATHS.has(c.req.path)) await limits.consume(c, "unauthenticatedIp", c.get("clientIp"));
    await next();
  });
}
