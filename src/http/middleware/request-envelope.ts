import { createMiddleware } from "hono/factory";
import type { Logger } from "../../observability/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { deferringJobsUntilAnswered } from "../../outbox/after-answer.ts";
import type { AppEnv } from "../app-env.ts";
import { ClientAddress, type SocketAddressReader } from "./client-ip.ts";
import { varyByOrigin } from "./cors.ts";
import { SAFE_METHODS } from "./csrf.ts";
import { requestIdFor } from "./request-id.ts";
import { logRequest } from "./request-log.ts";
import { observeRequest } from "./request-metrics.ts";
import { writeSecurityHeaders } from "./security-headers.ts";

export type RequestEnvelopeOptions = {
  trustProxy: number;
  readSocketAddress: SocketAddressReader;
  logger: Logger;
  /** null with METRICS_ENABLED=false: no per-request metrics work at all. */
  metrics: Metrics | null;
};

/**
 * What every request gets around its handling, in one layer where it was six (each layer is a dispatch and an
 * async frame, on a route whose whole budget is a few microseconds): before, its id and its client address; during,
 * background mail jobs it queues (MailOutbox.compose) held back until it is answered (after-answer.ts); after, once
 * the answer exists (an early one too: a CORS preflight, a refusal, an error), its metrics, its log line, the
 * security headers, `Vary: Origin` and X-Request-Id.
 *
 * Holding jobs back needs an AsyncLocalStorage, which makes every await of the request dearer; only requests that
 * can change something compose mail (every caller is a POST handler), so GET, HEAD and OPTIONS go without it.
 */
export function requestEnvelope(options: RequestEnvelopeOptions) {
  const { trustProxy, readSocketAddress, logger, metrics } = options;
  return createMiddleware<AppEnv>(async (c, next) => {
    const id = requestIdFor(c.req.header("x-request-id"));
    c.set("requestId", id);
    c.set("client", new ClientAddress(c, readSocketAddress, trustProxy));
    const started = performance.now();
    await (SAFE_METHODS.has(c.req.method) ? next() : deferringJobsUntilAnswered(next));
    if (metrics !== null) observeRequest(metrics, c, started);
    logRequest(logger, c, started);
    const headers = c.res.headers;
    writeSecurityHeaders(headers);
    varyByOrigin(headers);
    headers.set("X-Request-Id", id);
  });
}
