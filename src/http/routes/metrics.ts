import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../../errors.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { createErrorHandler, problemResponse } from "../on-error.ts";
import { createRouter } from "../router.ts";

const scrape = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics (text exposition format)",
  responses: {
    200: {
      description: "Metrics in the Prometheus text format",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

/** GET /metrics. Unauthenticated by design: keep it private with METRICS_PORT or at the proxy. */
export function createMetricsRoutes(metrics: Metrics) {
  return createRouter().openapi(scrape, async (c) => {
    const body = await metrics.render();
    return c.text(body, 200, { "Content-Type": metrics.contentType, "Cache-Control": "no-store" });
  });
}

/** The listener on METRICS_PORT: /metrics and nothing else, without the public app's middleware. */
export function createMetricsApp(metrics: Metrics, logger: Logger) {
  const app = createRouter().route("/", createMetricsRoutes(metrics));
  app.notFound((c) => problemResponse(c, new AppError("NOT_FOUND")));
  app.onError(createErrorHandler(logger));
  return app;
}
