/**
 * Where does GET /auth/me's time go? In-process (no sockets, no wrk: one core, little noise), it times
 * app.fetch() per request for a bare Hono route, then the same route with Servauth's global middleware added one
 * at a time (in app.ts's order), then the real app (createApp over in-memory PGlite) on /health, /auth/me with a
 * bearer token and with the session cookie. Prints microseconds per request, median of several rounds.
 *
 *   bun bench/profile-stack.ts [iterations=20000]
 */
import { Hono, type MiddlewareHandler } from "hono";
import { createArgon2Hasher } from "../src/auth/password.ts";
import { buildConfig } from "../src/config/config.ts";
import { parseEnv } from "../src/config/env.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import { createApp } from "../src/http/app.ts";
import { limitBodySize } from "../src/http/middleware/body-limit.ts";
import { clientIp } from "../src/http/middleware/client-ip.ts";
import { corsAllowlist } from "../src/http/middleware/cors.ts";
import { csrfProtection } from "../src/http/middleware/csrf.ts";
import { requestId } from "../src/http/middleware/request-id.ts";
import { securityHeaders } from "../src/http/middleware/security-headers.ts";
import { createRouter } from "../src/http/router.ts";
import { createLogger } from "../src/observability/logger.ts";
import { createRevocationBus } from "../src/sessions/create-bus.ts";
import { createServices } from "../src/services.ts";

const ITERATIONS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 5;
const APP_URL = "http://127.0.0.1:3000";
const body = {
  user: { id: "00000000-0000-4000-8000-000000000000", email: "bench@example.com", username: null, emailVerified: false, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" },
  session: { id: "00000000-0000-4000-8000-000000000001", createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2025-01-31T00:00:00.000Z" },
};

type Fetch = (request: Request, env: object) => Response | Promise<Response>;
const env = { server: { requestIP: () => ({ address: "127.0.0.1" }) } };

async function time(name: string, fetch: Fetch, url: string, headers: Record<string, string> = {}): Promise<number> {
  const once = async () => {
    const response = await fetch(new Request(url, { headers }), env);
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  for (let i = 0; i < ITERATIONS / 4; i++) await once();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < ITERATIONS; i++) await once();
    rounds.push(((performance.now() - start) * 1000) / ITERATIONS);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[Math.floor(ROUNDS / 2)]!;
  console.log(`${name.padEnd(58)} ${median.toFixed(1).padStart(7)} µs/request`);
  return median;
}

const readSocketAddress = () => "127.0.0.1";
const allowed = new Set([APP_URL]);
const layers: Array<[string, MiddlewareHandler]> = [
  ["+ requestId", requestId],
  ["+ securityHeaders", securityHeaders],
  ["+ corsAllowlist", corsAllowlist(allowed)],
  ["+ clientIp", clientIp(0, readSocketAddress)],
  ["+ limitBodySize", limitBodySize(64 * 1024)],
  ["+ csrfProtection", csrfProtection({ allowedOrigins: allowed, cookieNames: ["a", "b"] })],
];

console.log(`bun ${Bun.version}; ${ITERATIONS} sequential requests per round, median of ${ROUNDS} rounds`);
await time("bare Hono GET /json", new Hono().get("/json", (c) => c.json(body)).fetch, `${APP_URL}/json`);
await time("bare OpenAPIHono (createRouter) GET /json", createRouter().get("/json", (c) => c.json(body)).fetch, `${APP_URL}/json`);
for (let n = 1; n <= layers.length; n++) {
  const app = new Hono();
  for (const [, layer] of layers.slice(0, n)) app.use(layer);
  app.get("/json", (c) => c.json(body));
  await time(`bare Hono ${layers.slice(0, n).map(([label]) => label).join(" ").replace(/\+ /g, "+")}`.slice(0, 58), app.fetch, `${APP_URL}/json`);
}

const config = buildConfig(
  parseEnv({ NODE_ENV: "production", APP_URL, AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789", DATABASE_URL: "memory://", LOG_LEVEL: "silent" }),
  "bench-secret-bench-secret-bench-secret-0123456789",
);
const logger = createLogger({ level: "silent" });
const database = await createDb(config.database);
await migrateDatabase(database);
const bus = await createRevocationBus(config, logger);
const services = await createServices({ config, database, bus, hasher: createArgon2Hasher(), logger });
const app = createApp(services, { readSocketAddress });
const registered = await app.request(
  "/auth/register",
  { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "p@example.com", password: "correct horse battery staple" }) },
  env,
);
const { accessToken } = (await registered.json()) as { accessToken: string };
const cookie = registered.headers.getSetCookie().find((c) => c.startsWith("__Host-servauth.session="))!.split(";")[0]!;
await time("servauth GET /health (all global middleware)", app.fetch, `${APP_URL}/health`);
await time("servauth GET /auth/me, bearer", app.fetch, `${APP_URL}/auth/me`, { authorization: `Bearer ${accessToken}` });
await time("servauth GET /auth/me, cookie", app.fetch, `${APP_URL}/auth/me`, { cookie });
services.signingKeys.close();
await bus.close();
await database.close();
