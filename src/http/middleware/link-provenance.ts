import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

/** The origin of a URL header (Origin, Referer), or undefined when absent or unreadable ("null" included). */
function originOf(value: string | undefined): string | undefined {
  if (value === undefined || !URL.canParse(value)) return undefined;
  const { origin } = new URL(value);
  return origin === "null" ? undefined : origin;
}

/**
 * For a GET that acts on the caller's Lax session cookie (mode=link adds an identity to the account): a top-level
 * navigation from another site carries that cookie, so the request must come from this server's own page
 * (`Sec-Fetch-Site: same-origin`), the user (`none`: typed, bookmarked), or a page of a trusted origin (the
 * Origin or Referer names the server itself or an ALLOWED_ORIGINS entry). A request with no provenance at all comes
 * from no browser (a bearer client), which nothing can forge; a cross-site or unknown page is CSRF_REJECTED.
 */
export function navigationFromTrustedPage(trustedOrigins: ReadonlySet<string>) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const site = c.req.header("sec-fetch-site");
    const named = [c.req.header("origin"), c.req.header("referer")].filter((value) => value !== undefined);
    const source = named.map(originOf).find((origin) => origin !== undefined);
    const fromNoBrowser = site === undefined && named.length === 0;
    const trusted = site === "same-origin" || site === "none" || (source !== undefined && trustedOrigins.has(source)) || fromNoBrowser;
    if (!trusted) throw new AppError("CSRF_REJECTED", { message: `mode=link from another site (Sec-Fetch-Site ${site ?? "absent"}, source ${source ?? "unknown"})` });
    await next();
  });
}
