import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import { AppError } from "../../errors.ts";
import { jsonResponse, problem } from "../schemas.ts";
import { withinTime } from "../../within-time.ts";

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
  summary: "Readiness: the database answers (the revocation bus is reported, not required)",
  responses: {
    200: jsonResponse(
      z.object({
        status: z.literal("ready"),
        checks: z.object({
          database: z.literal("ok"),
          revocationBus: z.enum(["ok", "degraded"]).openapi({
            description:
              "degraded: revocations from other instances may not be arriving (e.g. Redis is down); meanwhile this " +
              "instance checks every session against the database, so its answers stay correct, only slower",
          }),
          oauthProviders: z.record(z.string(), z.enum(["ok", "unavailable", "pending"])).optional().openapi({
            description:
              "Present when OAUTH_PROVIDERS is set. Each social-login provider's discovery: unavailable if it failed (retried on the next sign-in and on each " +
              "/ready), pending until the first attempt ends. Reported, not required: the rest of the server works without it",
          }),
        }),
      }),
      "Ready to serve",
    ),
    503: problem("DEPENDENCY_UNAVAILABLE"),
  },
});

const READY_TIMEOUT_MS = 2_000;

export type ReadinessChecks = {
  pingDatabase(): Promise<void>;
  isRevocationBusConnected(): boolean;
  oauthProviders(): Record<string, "ok" | "unavailable" | "pending">;
};

/**
 * GET /health and /ready for orchestrators. Only the database gates readiness: with the revocation bus down an
 * instance is slower (no session cache) but still correct, and since every instance shares the bus, failing
 * readiness on it would take the whole fleet out of rotation at once over a cache outage.
 */
export function createHealthRoutes({ pingDatabase, isRevocationBusConnected, oauthProviders }: ReadinessChecks) {
  return createRouter()
    .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(ready, async (c) => {
      try {
        await withinTime(pingDatabase(), READY_TIMEOUT_MS, () => new Error("database ping timed out"));
      } catch (cause) {
        throw new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5, cause });
      }
      const revocationBus = isRevocationBusConnected() ? ("ok" as const) : ("degraded" as const);
      const providers = oauthProviders();
      const social = Object.keys(providers).length > 0 ? { oauthProviders: providers } : {};
      return c.json({ status: "ready" as const, checks: { database: "ok" as const, revocationBus, ...social } }, 200);
    });
}
