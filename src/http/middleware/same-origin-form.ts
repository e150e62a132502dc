import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

/**
 * CSRF protection for the HTML forms of pages/, which post back from the server's own page.
 * - Fetch Metadata first: a browser labels such a post `Sec-Fetch-Site: same-origin`, and a form on any other site
 *   `cross-site` or `same-site`, whatever that site's own headers say. Origin cannot prove it here: the pages send
 *   Referrer-Policy no-referrer, so browsers send `Origin: null` for their posts (Fetch standard, "serialize a
 *   request origin").
 * - A browser without Fetch Metadata (before 2023) is judged by Origin, which must then be this server's own.
 * - With neither header the request comes from no browser, and a non-browser client needs no forging (as csrf.ts).
 */
export function sameOriginForm(ownOrigin: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const sameOrigin = site !== undefined ? site === "same-origin" : origin === undefined || origin === ownOrigin;
    if (!sameOrigin) throw new AppError("CSRF_REJECTED");
    await next();
  });
}
