import { AppError } from "../errors.ts";

/**
 * Where a social login may send the browser back to (OAUTH_REDIRECT_ALLOWLIST): never an open redirect. A target
 * must parse as an absolute URL on its own, with the same scheme, host and port as an entry, and a path under
 * the entry's path; user info ("https://app.example.com@evil.example"), backslashes (which browsers read as
 * slashes), control characters and percent-encoded dots or slashes in the path are refused outright.
 */
export function createRedirectAllowlist(entries: readonly string[]) {
  const allowed = entries.map((entry) => {
    const url = new URL(entry);
    const path = url.pathname === "" ? "/" : url.pathname;
    return { authority: authorityOf(url), path: path.endsWith("/") ? path : `${path}/`, exact: path };
  });

  return {
    /** The target as a URL to add parameters to; REDIRECT_NOT_ALLOWED unless it is under an entry. */
    parse(target: string): URL {
      // eslint-disable-next-line no-control-regex
      if (target.includes("\\") || /[\u0000-\u0020\u007f]/.test(target) || !URL.canParse(target)) throw new AppError("REDIRECT_NOT_ALLOWED");
      const url = new URL(target);
      if (url.username !== "" || url.password !== "" || /%2e|%2f|%5c/i.test(url.pathname)) throw new AppError("REDIRECT_NOT_ALLOWED");
      const authority = authorityOf(url);
      const fits = allowed.some((entry) => entry.authority === authority && (url.pathname === entry.exact || url.pathname.startsWith(entry.path)));
      if (!fits) throw new AppError("REDIRECT_NOT_ALLOWED");
      return url;
    },
  };
}

/** Scheme, host and port (default ports made explicit by URL already); an app's own scheme has no host. */
function authorityOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

export type RedirectAllowlist = ReturnType<typeof createRedirectAllowlist>;
