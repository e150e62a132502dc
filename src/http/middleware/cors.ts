import { createMiddleware } from "hono/factory";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env.ts";

/**
 * CORS for an explicit allowlist, with credentials. A request from any other origin gets no CORS header at all
 * (not even Allow-Credentials), and its preflight an empty 204 the browser will refuse.
 */
export function corsAllowlist(allowedOrigins: ReadonlySet<string>) {
  const allowed = cors({
    origin: (origin) => origin,
    credentials: true,
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Content-Type", "Authorization", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"],
    maxAge: 600,
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && allowedOrigins.has(origin)) return allowed(c, next);
    if (origin !== undefined && c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      return new Response(null, { status: 204, headers: { Vary: "Origin" } });
    }
    await next();
    c.res.headers.append("Vary", "Origin");
  });
}
