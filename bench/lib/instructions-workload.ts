/**
 * What bench/instructions.ts runs under callgrind, on Node or Bun: the real app (the services as `servauth serve`
 * wires them on the PostgreSQL database DATABASE_URL, production settings, rate limits raised so the limiter works
 * but never refuses) and a bare Hono JSON route, each called in process with `app.fetch(new Request(...))`.
 *
 * For every case: a warm-up (so the JIT has compiled the path), then `rounds` phases of `n` requests. Each phase
 * ends with os.getPriority(): callgrind, started with --dump-before=getpriority, then writes the instructions
 * counted since the previous phase to a file of its own, so setup and warm-up are never mixed into a measured phase
 * (nothing to subtract), and a phase that caught a garbage collection or a JIT compilation shows as an outlier
 * rather than blurring them all. The last line printed is the phases' labels, in the order of those files.
 * The database must be migrated already (bench/instructions.ts does it before valgrind starts).
 *
 *   DATABASE_URL=postgres://... bun bench/lib/instructions-workload.ts <n> <rounds> [case filter]   (or node --import tsx)
 */
import { getPriority } from "node:os";
import { Hono } from "hono";
import { DEFAULT_RULES, ruleVariable } from "../../src/abuse/rules.ts";
import { createArgon2Hasher } from "../../src/auth/password.ts";
import { loadConfig } from "../../src/cli/load-config.ts";
import { createDb } from "../../src/db/client.ts";
import { createMailer } from "../../src/delivery/create-mailer.ts";
import { createApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createServices } from "../../src/services.ts";
import { createInProcessBus } from "../../src/sessions/revocation-bus.ts";
import { PASSWORD } from "./prepare.ts";

const n = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);
const only = process.argv[4] ?? "";
const WARM_UP = Math.max(n, 3000);
const APP_URL = "http://127.0.0.1:3000";
// Bun's adapter reads the peer address from env.server; the app's readSocketAddress below stands in for Node's.
const env = { server: { requestIP: () => ({ address: "127.0.0.1" }) } };
const body = {
  user: { id: "00000000-0000-4000-8000-000000000000", email: "bench@example.com", username: null, emailVerified: false, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" },
  session: { id: "00000000-0000-4000-8000-000000000001", createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2025-01-31T00:00:00.000Z" },
};

type Fetch = (request: Request, env: object) => Response | Promise<Response>;
const phases: string[] = [];

function endPhase(label: string) {
  getPriority();
  phases.push(label);
}

async function requests(fetch: Fetch, url: string, headers: Record<string, string>, count: number) {
  for (let i = 0; i < count; i++) {
    const response = await fetch(new Request(url, { headers }), env);
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
}

async function measure(label: string, fetch: Fetch, url: string, headers: Record<string, string> = {}) {
  if (!label.includes(only)) return;
  await requests(fetch, url, headers, WARM_UP);
  endPhase(`warm-up ${label}`);
  for (let round = 0; round < rounds; round++) {
    await requests(fetch, url, headers, n);
    endPhase(label);
  }
}

const generousLimits = Object.fromEntries(
  Object.entries(DEFAULT_RULES).flatMap(([name, rule]) => (rule === null ? [] : [[ruleVariable(name as keyof typeof DEFAULT_RULES), `1000000/${rule.windowSeconds}`]])),
);
Object.assign(process.env, {
  NODE_ENV: "production",
  APP_URL,
  AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
  DATABASE_URL: process.env.DATABASE_URL,
  LOG_LEVEL: "warn",
  MAIL_TRANSPORT: "log",
  // Valgrind runs everything some 50 times slower: setup (module loading, migrations, registration) must not hit
  // the production bounds. The timers are still set on every request, as in production.
  REQUEST_DEADLINE_MS: "600000",
  DATABASE_CONNECT_TIMEOUT_MS: "60000",
  // Nor may the outbox's poll, whose queries would land in whichever phase they fall in.
  OUTBOX_POLL_SECONDS: "3600",
  ...generousLimits,
});

const config = await loadConfig();
const logger = createLogger({ level: config.logLevel, destination: process.stderr });
const database = await createDb(config.database);
const services = await createServices({
  config,
  database,
  // One process, so the in-process bus: a broadcast bus's heartbeat, slowed down 50 times by valgrind, would call
  // the bus silent and send the cookie path to the database.
  bus: createInProcessBus(),
  // A toy argon2id: the one hash (registration) would otherwise take minutes under valgrind and is not measured.
  hasher: createArgon2Hasher({ memoryCost: 64, timeCost: 1, parallelism: 1 }),
  logger,
  mailer: createMailer(config, logger, process.stderr),
});
try {
  const app = createApp(services, { readSocketAddress: () => "127.0.0.1" });
  const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
    app.fetch(new Request(`${APP_URL}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(json) }), env);
  const registered = await post("/auth/register", { email: `instructions-${Date.now()}@example.com`, password: PASSWORD });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
  const { accessToken } = (await registered.json()) as { accessToken: string };
  const cookie = registered.headers.getSetCookie().find((c) => c.startsWith("__Host-servauth.session="))!.split(";")[0]!;
  const keyResponse = await post("/auth/api-keys", { name: "instructions" }, { authorization: `Bearer ${accessToken}` });
  if (keyResponse.status !== 201) throw new Error(`api key: ${keyResponse.status} ${await keyResponse.text()}`);
  const { key } = (await keyResponse.json()) as { key: string };
  endPhase("setup");

  await measure("bare Hono GET /json", new Hono().get("/json", (c) => c.json(body)).fetch, `${APP_URL}/json`);
  // Every global layer and a handler that does nothing: what the app costs before a route's own work.
  await measure("GET /health (global middleware only)", app.fetch, `${APP_URL}/health`);
  await measure("GET /auth/me, bearer JWT", app.fetch, `${APP_URL}/auth/me`, { authorization: `Bearer ${accessToken}` });
  await measure("GET /auth/me, session cookie", app.fetch, `${APP_URL}/auth/me`, { cookie });
  await measure("GET /auth/me, API key", app.fetch, `${APP_URL}/auth/me`, { authorization: `Bearer ${key}` });
} finally {
  await services.close();
  await database.close();
}
console.log(JSON.stringify(phases));
