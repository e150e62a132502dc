/**
 * Where does the time go? In-process (no sockets, no wrk: one request at a time), it measures the CPU time per
 * request (process.cpuUsage, all threads; time spent descheduled on a busy machine does not count) of:
 *  - a bare Hono JSON route, and the same route behind each of app.ts's global middleware on its own;
 *  - the real app (the services exactly as `servauth serve` wires them, in-memory PGlite, production settings):
 *    GET /health, GET /auth/me with a bearer token, the session cookie and an API key, POST /auth/refresh (a chain),
 *    POST /auth/login, and a bare argon2id verify with the same parameters for comparison.
 * Median of several rounds.
 *
 *   bun bench/profile-stack.ts [iterations=20000]
 */
import { Hono, type MiddlewareHandler } from "hono";
import { createArgon2Hasher } from "../src/auth/password.ts";
import { withServices } from "../src/cli/open-services.ts";
import type { AppEnv } from "../src/http/app-env.ts";
import { createApp } from "../src/http/app.ts";
import { unauthenticatedLimit } from "../src/http/middleware/abuse-guard.ts";
import { limitBodySize } from "../src/http/middleware/body-limit.ts";
import { corsAllowlist } from "../src/http/middleware/cors.ts";
import { csrfProtection } from "../src/http/middleware/csrf.ts";
import { requestAdmission } from "../src/http/middleware/request-admission.ts";
import { requestEnvelope } from "../src/http/middleware/request-envelope.ts";
import { requestGuards } from "../src/http/middleware/request-guards.ts";
import { createRequestLimits } from "../src/http/request-limits.ts";
import { createRouter } from "../src/http/router.ts";
import { PASSWORD } from "./lib/prepare.ts";
import { generousRateLimits } from "./lib/server.ts";

const ITERATIONS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 5;
const APP_URL = "http://127.0.0.1:3000";
const body = {
  user: { id: "00000000-0000-4000-8000-000000000000", email: "bench@example.com", username: null, emailVerified: false, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" },
  session: { id: "00000000-0000-4000-8000-000000000001", createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2025-01-31T00:00:00.000Z" },
};

type Fetch = (request: Request, env: object) => Response | Promise<Response>;
const env = { server: { requestIP: () => ({ address: "127.0.0.1" }) } };
const readSocketAddress = () => "127.0.0.1";

/** CPU µs per call of `once`, median of ROUNDS rounds of `iterations` calls after a warm-up. */
async function cpuPerCall(name: string, once: () => Promise<unknown>, iterations = ITERATIONS): Promise<number> {
  for (let i = 0; i < Math.max(iterations / 4, 1); i++) await once();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await once();
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / iterations);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[Math.floor(ROUNDS / 2)]!;
  const shown = median >= 1000 ? `${(median / 1000).toFixed(2)} ms` : `${median.toFixed(1)} µs`;
  console.log(`${name.padEnd(60)} ${shown.padStart(10)} CPU/request`);
  return median;
}

function timeGet(name: string, fetch: Fetch, url: string, headers: Record<string, string> = {}): Promise<number> {
  return cpuPerCall(name, async () => {
    const response = await fetch(new Request(url, { headers }), env);
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  });
}

// The services exactly as `servauth serve` wires them, on an in-memory PGlite, production settings, and the
// rate limits raised as the load benchmark raises them (so the limiter's work is included, never a 429).
Object.assign(process.env, {
  NODE_ENV: "production",
  APP_URL,
  AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
  DATABASE_URL: "memory://",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  MAIL_TRANSPORT: "log",
  ...(await generousRateLimits()),
});

console.log(`bun ${Bun.version}; CPU per request in-process (median of ${ROUNDS} rounds); LOG_LEVEL=${process.env.LOG_LEVEL}`);
await withServices(async (services) => {
  const { config } = services;
  const limits = createRequestLimits(services.limiter, services.audit);
  await timeGet("bare Hono GET /json", new Hono().get("/json", (c) => c.json(body)).fetch, `${APP_URL}/json`);
  await timeGet("bare OpenAPIHono (createRouter) GET /json", createRouter().get("/json", (c) => c.json(body)).fetch, `${APP_URL}/json`);
  // app.ts's global middleware, each alone after the request envelope (which sets the client IP several need) in
  // front of the bare route: its own cost is the difference to "bare + envelope".
  const envelope = requestEnvelope({ trustProxy: config.trustProxy, readSocketAddress, logger: services.logger, metrics: services.metrics });
  const withEnvelope = new Hono<AppEnv>().use(envelope).get("/json", (c) => c.json(body));
  const reference = await timeGet("bare + requestEnvelope (reference for the lines below)", withEnvelope.fetch, `${APP_URL}/json`, { authorization: "Bearer x" });
  const layers: Array<[string, MiddlewareHandler<AppEnv>]> = [
    ["requestAdmission (blocklist, deadline)", requestAdmission({ isBlocked: services.isBlocked, deadlineMs: config.requestDeadlineMs })],
    ["corsAllowlist", corsAllowlist(config.allowedOrigins)],
    ["limitBodySize", limitBodySize(config.maxBodyBytes)],
    [
      "requestGuards (CSRF, unauthenticated limit; request with a bearer header)",
      requestGuards({
        limitBody: limitBodySize(config.maxBodyBytes),
        authCsrf: csrfProtection({ allowedOrigins: config.allowedOrigins, cookieNames: ["a", "b"] }),
        graphqlCsrf: null,
        unauthenticated: unauthenticatedLimit(limits, (c) => c.req.header("authorization") !== undefined),
      }),
    ],
  ];
  for (const [label, layer] of layers) {
    const app = new Hono<AppEnv>();
    app.use(envelope);
    app.use(layer);
    app.get("/json", (c) => c.json(body));
    const cost = await timeGet(`  + ${label}`, app.fetch, `${APP_URL}/json`, { authorization: "Bearer x" });
    console.log(`${"".padEnd(60)} (+${(cost - reference).toFixed(1)} µs)`);
  }

  const app = createApp(services, { readSocketAddress });
  const post = (path: string, json: unknown) =>
    app.fetch(new Request(`${APP_URL}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) }), env);
  const registered = await post("/auth/register", { email: "profile@example.com", password: PASSWORD });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
  const { accessToken, refreshToken } = (await registered.json()) as { accessToken: string; refreshToken: string };
  const cookie = registered.headers.getSetCookie().find((c) => c.startsWith("__Host-servauth.session="))!.split(";")[0]!;
  await timeGet("servauth GET /health (all global middleware)", app.fetch, `${APP_URL}/health`);
  await timeGet("servauth GET /auth/me, bearer", app.fetch, `${APP_URL}/auth/me`, { authorization: `Bearer ${accessToken}` });
  await timeGet("servauth GET /auth/me, cookie", app.fetch, `${APP_URL}/auth/me`, { cookie });
  const keyResponse = await app.fetch(
    new Request(`${APP_URL}/auth/api-keys`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ name: "profile" }) }),
    env,
  );
  if (keyResponse.status !== 201) throw new Error(`api key: ${keyResponse.status} ${await keyResponse.text()}`);
  const { key } = (await keyResponse.json()) as { key: string };
  await timeGet("servauth GET /auth/me, API key", app.fetch, `${APP_URL}/auth/me`, { authorization: `Bearer ${key}` });

  let current = refreshToken;
  await cpuPerCall("servauth POST /auth/refresh (one chain, PGlite in memory)", async () => {
    const response = await post("/auth/refresh", { refreshToken: current });
    if (response.status !== 200) throw new Error(`refresh: ${response.status} ${await response.text()}`);
    current = ((await response.json()) as { refreshToken: string }).refreshToken;
  }, 400);

  const hasher = createArgon2Hasher();
  const stored = await hasher.hash(PASSWORD);
  const argon2 = await cpuPerCall("argon2id verify alone (OWASP parameters)", () => hasher.verify(stored, PASSWORD), 20);
  const login = await cpuPerCall("servauth POST /auth/login (one at a time)", async () => {
    const response = await post("/auth/login", { email: "profile@example.com", password: PASSWORD });
    if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }, 20);
  console.log(`${"".padEnd(60)} (login beyond its argon2 verify: ${((login - argon2) / 1000).toFixed(2)} ms)`);
});
