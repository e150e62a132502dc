import type { Context } from "hono";
import { routePath } from "hono/route";

/**
 * The pattern the request was routed by (`/auth/sessions/:id`), never its raw path: bounded in number (a metric
 * label cannot explode) and free of ids or query strings. Read after `next()`: the last route Hono matched is the
 * endpoint, or for a request no endpoint matched, the widest middleware pattern (e.g. `/*`).
 */
export function routePattern(c: Context): string {
  return routePath(c, -1);
}
