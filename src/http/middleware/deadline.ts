import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { createDeadlines } from "../../deadlines.ts";

/**
 * Answers 503 DEPENDENCY_UNAVAILABLE (Retry-After) when a request has not been answered within `ms`, so no client
 * waits without bound on a dependency that neither answers nor fails. The database timeouts cover a server that is
 * slow or unreachable; this is the last bound, for whatever they miss (a driver that loses a query, as postgres.js
 * did before our patch, src/db/postgres-patch.ts). The handler is not stopped; its late result is dropped.
 *
 * If at that moment the app is waiting for the request body (a client that declared more than it sends), the wait
 * is the client's: 408 REQUEST_TIMEOUT, and the connection is closed since the rest of the body may still come.
 */
export function requestDeadline(ms: number): MiddlewareHandler<AppEnv> {
  const deadlines = createDeadlines(ms);
  return (c, next) =>
    deadlines.within(next(), () =>
      c.get("awaitingClient")?.()
        ? new AppError("REQUEST_TIMEOUT", { headers: { Connection: "close" }, message: `The request body did not arrive within ${ms} ms` })
        : new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5, message: `no answer within ${ms} ms` }),
    );
}
