import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

type Unanswered = { started: number; expire: () => void; timer?: ReturnType<typeof setTimeout> };

/**
 * Answers 503 DEPENDENCY_UNAVAILABLE (Retry-After) when a request has not been answered within `ms`, so no client
 * waits without bound on a dependency that neither answers nor fails. The database timeouts cover a server that is
 * slow or unreachable; this is the last bound, for whatever they miss (a driver that loses a query, as postgres.js
 * did before our patch, src/db/postgres-patch.ts). The handler is not stopped; its late result is dropped.
 *
 * If at that moment the app is waiting for the request body (a client that declared more than it sends), the wait
 * is the client's: 408 REQUEST_TIMEOUT, and the connection is closed since the rest of the body may still come.
 *
 * The timer is set only for requests still unanswered when the event loop's current turn ends, once for all of
 * them (setImmediate), to fire `ms` after each one came in: an answer served from memory (GET /auth/me with a
 * cached session) is ready within the turn and never pays for a timer, one waiting on I/O gets it in that turn.
 */
export function requestDeadline(ms: number): MiddlewareHandler<AppEnv> {
  const unarmed = new Set<Unanswered>();
  let armingQueued = false;
  const armUnanswered = () => {
    armingQueued = false;
    const now = performance.now();
    for (const request of unarmed) request.timer = setTimeout(request.expire, Math.max(0, request.started + ms - now));
    unarmed.clear();
  };
  return (c, next) =>
    new Promise<void>((resolve, reject) => {
      const request: Unanswered = { started: performance.now(), expire: () => reject(expiry(c, ms)) };
      unarmed.add(request);
      if (!armingQueued) {
        armingQueued = true;
        setImmediate(armUnanswered);
      }
      const answered = () => {
        unarmed.delete(request);
        clearTimeout(request.timer);
      };
      next().then(
        () => {
          answered();
          resolve();
        },
        (error: unknown) => {
          answered();
          reject(error);
        },
      );
    });
}

function expiry(c: Context<AppEnv>, ms: number): AppError {
  return c.get("awaitingClient")?.()
    ? new AppError("REQUEST_TIMEOUT", { headers: { Connection: "close" }, message: `The request body did not arrive within ${ms} ms` })
    : new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5, message: `no answer within ${ms} ms` });
}
