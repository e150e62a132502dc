import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Origin-based CSRF protection (OWASP: "verifying origin with standard headers").
 * - Bearer requests are exempt: a browser never attaches an Authorization header on its own.
 * - Any unsafe request that names an Origin must name an allowed one; this also stops login CSRF on
 *   /auth/login and /auth/register, which carry no cookie yet.
 * - A cookie-carrying unsafe request without Origin must say Sec-Fetch-Site: same-origin; with neither header it
 *   is refused, since the cookie could have been attached by a browser that sent no provenance.
 */
export function csrfProtection(options: { allowedOrigins: ReadonlySet<string>; cookieNames: string[] }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || /^bearer /i.test(c.req.header("authorization") ?? "")) return next();
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      if (!options.allowedOrigins.has(origin)) throw new AppError("CSRF_REJECTED");
      return next();
    }
    const fetchSite = c.req.header("sec-fetch-site");
    if (fetchSite !== undefined) {
      if (fetchSite !== "same-origin" && fetchSite !== "none") throw new AppError("CSRF_REJECTED");
      return next();
    }
    const carriesCookie = options.cookieNames.some((name) => getCookie(c, name) !== undefined);
    if (carriesCookie) throw new AppError("CSRF_REJECTED");
    return next();
  });
}
