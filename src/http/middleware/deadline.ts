import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { withinTime } from "../../within-time.ts";

/**
 * Answers 503 DEPENDENCY_UNAVAILABLE (Retry-After) when a request has not been answered within `ms`, so no client
 * waits without bound on a dependency that neither answers nor fails. The database timeouts cover a server that is
 * slow or unreachable; this is the last bound, for whatever they miss (a driver that loses a query, as postgres.js
 * did before scripts/patch-postgres.mjs). The handler is not stopped; its late result is dropped.
 */
export function requestDeadline(ms: number): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    await withinTime(
      next(),
      ms,
      () => new AppError("DEPENDENCY_UNAVAILABLE", { headers: { "Retry-After": "5" }, message: `no answer within ${ms} ms` }),
    );
  };
}
