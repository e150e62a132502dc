/**
 * The headers OWASP's REST Security Cheat Sheet asks of a JSON API, plus the two that still guard a JSON answer
 * against cross-origin reads (CORP) and leaking URLs (Referrer-Policy). Hono's secureHeaders() defaults also sent
 * six headers that only act on HTML documents or dead clients, and are left out here: Cross-Origin-Opener-Policy
 * and Origin-Agent-Cluster (browsing-context isolation of a top-level document), X-DNS-Prefetch-Control (prefetch
 * of a document's links), X-Download-Options (IE8 opening downloads), X-Permitted-Cross-Domain-Policies (Flash and
 * Acrobat policy files) and X-XSS-Protection (a removed XSS filter; OWASP says leave it unset). The one HTML page,
 * /docs, runs no content but Swagger UI's own under its strict CSP.
 */
export const ALWAYS: ReadonlyArray<readonly [string, string]> = [
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
];

/** Defaults a route may replace: /docs sends a CSP that allows its scripts, its assets and /health may be cached. */
export const DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  // Auth answers carry secrets: nothing is cached unless its route opted in.
  ["Cache-Control", "no-store"],
];

/** The secure headers every response carries, set in one pass over constant pairs once the response exists. */
export function writeSecurityHeaders(headers: Headers): void {
  for (const [name, value] of ALWAYS) headers.set(name, value);
  for (const [name, value] of DEFAULTS) if (!headers.has(name)) headers.set(name, value);
}
