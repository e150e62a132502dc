/**
 * The baseline: a bare Hono app with one JSON GET route on Bun.serve, nothing else (no middleware, no database).
 * The real server runs on the same runtime with the same Bun.serve options, so the ratio isolates Servauth's cost.
 *
 *   PORT=4000 HOST=127.0.0.1 bun bench/bare-server.ts     GET /json
 */
import { Hono } from "hono";

const app = new Hono();
// Roughly the size and shape of GET /auth/me's answer, so serialisation costs about the same.
const body = {
  user: { id: "00000000-0000-4000-8000-000000000000", email: "bench@example.com", username: null, emailVerified: false, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" },
  session: { id: "00000000-0000-4000-8000-000000000001", createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2025-01-31T00:00:00.000Z" },
};
app.get("/json", (c) => c.json(body));
// The same route answering with the 15 extra response headers Servauth sends on GET /auth/me (security headers,
// Cache-Control, Vary, X-Request-Id), as constants: what those headers alone cost Bun's HTTP layer.
const servauthHeaders: Record<string, string> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  vary: "Origin",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "DENY",
  "x-permitted-cross-domain-policies": "none",
  "x-request-id": "54f6ea76-53e1-44f0-98b1-8fedfd0cc6e1",
  "x-xss-protection": "0",
};
app.get("/json-with-headers", (c) => c.json(body, 200, servauthHeaders));

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  idleTimeout: 30,
  fetch: app.fetch,
});
console.log(`bare hono listening on ${server.url}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
