import type { Context } from "hono";
import type { Logger } from "../../observability/logger.ts";
import type { AppEnv, Authentication } from "../app-env.ts";
import { routePattern } from "./route-pattern.ts";

/**
 * The request's log line, once its response is ready (`started`: performance.now() when it came in). Only fields
 * chosen here are logged: never the raw path or query (links carry tokens), headers, cookies or bodies.
 */
export function logRequest(logger: Logger, c: Context<AppEnv>, started: number): void {
  const status = c.res.status;
  // Below LOG_LEVEL=info only the 5xx lines are written: the others are not even built.
  if (status < 500 && !logger.isLevelEnabled("info")) return;
  // Set only once authenticate() accepted the request.
  const auth: Authentication | undefined = c.get("auth");
  const line = {
    requestId: c.get("requestId"),
    method: c.req.method,
    route: routePattern(c),
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    userId: auth?.user.id,
    ...(auth?.via === "key" ? { apiKeyId: auth.apiKey.id } : {}),
    clientIp: c.get("client").ipIfKnown,
  };
  // Client errors are routine (a wrong password); a 5xx is already logged in full by the error handler.
  if (status >= 500) logger.error(line, "request");
  else logger.info(line, "request");
}
