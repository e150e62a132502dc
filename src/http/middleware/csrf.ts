import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

/** RFC 9110 section 9.2.1: methods a client never uses to change anything (the app keeps it so). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Origin-based CSRF protection (OWASP: "verifying origin with standard headers").
 * - Any unsafe request that names an Origin must name an allowed one. This also stops login CSRF on
 *   /auth/login and /auth/register, which carry no cookie yet.
 * - Without Origin, a request carrying one of our cookies must say Sec-Fetch-Site: same-origin; with neither
 *   header it is refused, since the cookie could have been attached by a browser that sent no provenance.
 * - Requests that carry none of our cookies (bearer clients, native apps) need no provenance: a browser never
 *   attaches an Authorization header on its own. A bearer header does not excuse a cookie, though: else a bogus
 *   "Bearer x" would let /auth/refresh act on the cookie unchecked.
 *
 * A check for request-guards.ts, not a layer: it throws CSRF_REJECTED or returns, and waits for nothing.
 */
export function csrfProtection(options: { allowedOrigins: ReadonlySet<string>; cookieNames: string[]; exempt?: (path: string) => boolean }) {
  return (c: Context<AppEnv>): void => {
    if (SAFE_METHODS.has(c.req.method)) return;
    // A provider's form-POST callback comes from the provider's origin by design; its flow cookie, state and PKCE
    // bind it to the browser that started the flow instead (src/oauth/flow-state.ts).
    if (options.exempt?.(c.req.path) === true) return;
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      if (!options.allowedOrigins.has(origin)) throw new AppError("CSRF_REJECTED", { message: `The Origin ${origin.slice(0, 200)} is not allowed` });
      return;
    }
    const carriesCookie = options.cookieNames.some((name) => getCookie(c, name) !== undefined);
    if (!carriesCookie) return;
    const site = c.req.header("sec-fetch-site");
    if (site === undefined) {
      throw new AppError("CSRF_REJECTED", { message: "A request with a session cookie must carry an Origin header (or Sec-Fetch-Site: same-origin)" });
    }
    if (site !== "same-origin") throw new AppError("CSRF_REJECTED", { message: `A cookie-authenticated request must come from the same site; Sec-Fetch-Site was ${site}` });
  };
}

export type CsrfCheck = ReturnType<typeof csrfProtection>;
