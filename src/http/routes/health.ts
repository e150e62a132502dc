import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { jsonResponse, problem } from "../schemas.ts";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["operations"],
  summary: "Liveness: the process is up",
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "Up") },
});

const ready = createRoute({
  method: "get",
  path: "/ready",
  tags: ["operations"],
  summary: "Readiness: the database answers",
  responses: {
    200: jsonResponse(z.object({ status: z.literal("ready") }), "Ready to serve"),
    503: problem("DEPENDENCY_UNAVAILABLE"),
  },
});

const READY_TIMEOUT_MS = 2_000;

/** GET /health and /ready for orchestrators. */
export function createHealthRoutes(ping: () => Promise<void>) {
  return createRouter()
    .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(ready, async (c) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("database ping timed out")), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([ping(), timeout]);
      } catch (cause) {
        throw new AppError("DEPENDENCY_UNAVAILABLE", { headers: { "Retry-After": "5" }, cause });
      } finally {
        clearTimeout(timer);
      }
      return c.json({ status: "ready" as const }, 200);
    });
}
