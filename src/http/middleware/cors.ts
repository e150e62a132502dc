import { createMiddleware } from "hono/factory";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env.ts";

/**
 * CORS for an explicit allowlist, with credentials. A request from any other origin gets no CORS header at all
 * (not even Allow-Credentials), and its preflight an empty 204 the browser will refuse. Every answer depends on
 * the Origin, so every answer says so: `Vary: Origin` is written with the other headers every answer carries
 * (request-envelope.ts, varyByOrigin), which leaves this layer no work after the handler, and so no async frame
 * of its own, for the requests that name no Origin (every API client that is not a browser).
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
  return createMiddleware<AppEnv>((c, next) => {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    if (allowedOrigins.has(origin)) return allowed(c, next);
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) return Promise.resolve(new Response(null, { status: 204 }));
    return next();
  });
}

/** Adds Origin to the answer's Vary, unless Hono's cors() (an allowed origin) or the route already named it. */
export function varyByOrigin(headers: Headers): void {
  const vary = headers.get("vary");
  if (vary === null) headers.set("Vary", "Origin");
  else if (!NAMES_ORIGIN.test(vary)) headers.append("Vary", "Origin");
}

const NAMES_ORIGIN = /(^|,)\s*origin\s*(,|$)/i;
