/**
 * `npm run bench:better-auth`: Servauth's GET /auth/me against Better-Auth's own GET /api/auth/get-session, in one
 * run, on the same Bun, with wrk over loopback like `npm run bench`. Better-Auth runs as bench/better-auth-server.ts
 * (a minimal Better-Auth app on Hono, its defaults) with its memory adapter, then with its Drizzle adapter on PGlite
 * (session cookie cache off: its default), then on PGlite with the cookie cache on; Servauth runs on its embedded
 * database. The bare Hono route (bench/bare-server.ts) is measured first and last; ratios to bare divide by the mean.
 * See docs/benchmarks.md.
 *
 * Environment: BENCH_SECONDS (10), BENCH_OUT (where the JSON results go; default a temporary file).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cleanUp, cleanUpOnSignals, cleanups } from "./lib/cleanup.ts";
import { loadAverage } from "./lib/cpu.ts";
import { log, type Measured, measure } from "./lib/measure.ts";
import { expectMe, PASSWORD, register } from "./lib/prepare.ts";
import { errorsNote, fmtCores, fmtCpu, fmtMs, fmtRate, fmtRatio, markdownTable, type Row, runHeader } from "./lib/report.ts";
import { ROOT, type RunningProcess, startBareServer, startBunProcess, startServauth } from "./lib/server.ts";
import { okPerSecond, runWrk } from "./lib/wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
/** As in bench/bench.ts: wrk shares the 2 cores with the server. */
const THREADS = 2;
const CONNECTIONS = 50;
const EMAIL = "bench-side-by-side@example.com";
const BETTER_AUTH_VERSION = (JSON.parse(readFileSync(path.join(ROOT, "node_modules/better-auth/package.json"), "utf8")) as { version: string }).version;

const rows: Row[] = [];
const raw: Record<string, unknown> = {};

type Figure = { label: string; measured: Measured };

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server, runs `fn` on it, stops it (the cleanups stop it too if the run is interrupted). */
async function withServer<T>(start: () => Promise<RunningProcess>, fn: (server: RunningProcess) => Promise<T>): Promise<T> {
  const server = await start();
  cleanups.push(() => server.stop());
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** A warm-up, then the measurement; `check` runs after it, so a figure made of wrong answers fails the run. */
async function measureGet(label: string, server: RunningProcess, url: string, env: Record<string, string>, check: () => Promise<void>): Promise<Figure> {
  const run = { url, script: "get", threads: THREADS, connections: CONNECTIONS, seconds: SECONDS, env };
  await runWrk({ ...run, seconds: WARMUP_SECONDS });
  const measured = await measure(label, run, async () => [server.pid], raw);
  await check();
  return { label, measured };
}

async function measureBare(when: string): Promise<Figure> {
  log(`bare Hono route (${when})`);
  return withServer(startBareServer, (bare) => measureGet(`bare Hono GET /json (${when})`, bare, `${bare.url}/json`, {}, async () => {}));
}

/** `appRoute`: also measure GET /session, the app's own route that calls `auth.api.getSession`. */
type BetterAuthSetup = { label: string; database: "memory" | "pglite"; cookieCache: boolean; appRoute: boolean };

function startBetterAuth(setup: BetterAuthSetup): Promise<RunningProcess> {
  const dataDir: Record<string, string> = setup.database === "pglite" ? { DATA_DIR: path.join(scratchDir("servauth-bench-better-auth-"), "pgdata") } : {};
  return startBunProcess(
    ["bench/better-auth-server.ts"],
    (url) => ({
      NODE_ENV: "production",
      BETTER_AUTH_URL: url,
      BETTER_AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
      BA_DATABASE: setup.database,
      ...(setup.cookieCache ? { BA_COOKIE_CACHE: "on" } : {}),
      ...dataDir,
    }),
    "/api/auth/ok",
  );
}

async function postJson(url: string, body: unknown): Promise<Response> {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response;
}

/** Signs up, then signs in through Better-Auth's own email and password API; the Cookie header its answer sets. */
async function signInToBetterAuth(baseUrl: string): Promise<string> {
  await postJson(`${baseUrl}/api/auth/sign-up/email`, { name: "Bench", email: EMAIL, password: PASSWORD });
  const response = await postJson(`${baseUrl}/api/auth/sign-in/email`, { email: EMAIL, password: PASSWORD });
  // better-auth.session_token, and better-auth.session_data when the cookie cache is on.
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.slice(0, cookie.indexOf(";")))
    .join("; ");
}

/** get-session answers 200 with null for no session, so the user's email is what tells a signed-in answer. */
async function expectBetterAuthSession(url: string, cookie: string): Promise<void> {
  const response = await fetch(url, { headers: { Cookie: cookie } });
  const text = await response.text();
  const answered = response.status === 200 ? (JSON.parse(text) as { user?: { email?: string } } | null)?.user?.email : undefined;
  if (answered !== EMAIL) throw new Error(`GET ${url}, expected ${EMAIL}: ${response.status} ${text}`);
}

async function measureBetterAuth(setup: BetterAuthSetup): Promise<Figure[]> {
  log(`Better-Auth ${BETTER_AUTH_VERSION}, ${setup.label}: starting`);
  return withServer(
    () => startBetterAuth(setup),
    async (server) => {
      const cookie = await signInToBetterAuth(server.url);
      if (setup.cookieCache !== cookie.includes("session_data=")) throw new Error(`cookie cache ${setup.cookieCache ? "on" : "off"}, but sign-in set: ${cookie}`);
      const routes: Array<[name: string, path: string]> = [["GET /api/auth/get-session", "/api/auth/get-session"]];
      if (setup.appRoute) routes.push(["app route calling auth.api.getSession", "/session"]);
      const figures: Figure[] = [];
      for (const [name, route] of routes) {
        const check = () => expectBetterAuthSession(`${server.url}${route}`, cookie);
        await check();
        figures.push(await measureGet(`Better-Auth ${name}, ${setup.label}`, server, `${server.url}${route}`, { BENCH_COOKIE: cookie }, check));
      }
      return figures;
    },
  );
}

async function measureServauth(): Promise<{ cookie: Figure; bearer: Figure }> {
  log("Servauth, embedded database: starting");
  return withServer(
    () => startServauth({ dataDir: scratchDir("servauth-bench-pglite-") }),
    async (server) => {
      const me = await register(server.url, EMAIL);
      const url = `${server.url}/auth/me`;
      const cookie = { Cookie: me.sessionCookie };
      const bearer = { Authorization: `Bearer ${me.accessToken}` };
      await expectMe(server.url, cookie, EMAIL);
      await expectMe(server.url, bearer, EMAIL);
      return {
        cookie: await measureGet("Servauth GET /auth/me, session cookie, embedded database", server, url, { BENCH_COOKIE: cookie.Cookie }, () => expectMe(server.url, cookie, EMAIL)),
        bearer: await measureGet("Servauth GET /auth/me, bearer token, embedded database", server, url, { BENCH_AUTHORIZATION: bearer.Authorization }, () => expectMe(server.url, bearer, EMAIL)),
      };
    },
  );
}

function figureRow({ label, measured: r }: Figure, bareRate: number, bareCpuUs: number): Row {
  return {
    figure: `${label} (-t${THREADS} -c${CONNECTIONS})`,
    value: fmtRate(okPerSecond(r)),
    p99: fmtMs(r.p99Us),
    baseline: `bare ${fmtRate(bareRate)}`,
    ratio: fmtRatio(okPerSecond(r) / bareRate),
    cpu: fmtCpu(r.serverCpuUs, r.databaseCpuUs),
    foreign: fmtCores(r.foreign),
    note: [`CPU/request ratio ${fmtRatio(bareCpuUs / r.serverCpuUs)}`, errorsNote(r)].filter(Boolean).join("; "),
  };
}

/** How many times Better-Auth's rate Servauth's route reaches, and how many times its CPU per request Better-Auth's takes. */
function timesRow(servauth: Figure, betterAuth: Figure): Row {
  const [s, b] = [servauth.measured, betterAuth.measured];
  return {
    figure: `Servauth / Better-Auth: ${servauth.label.replace("Servauth ", "").replace(", embedded database", "")} / ${betterAuth.label.replace("Better-Auth ", "")}`,
    value: `${fmtRatio(okPerSecond(s) / okPerSecond(b))}x the rate`,
    baseline: `Better-Auth ${fmtRate(okPerSecond(b))}`,
    ratio: fmtRatio(okPerSecond(s) / okPerSecond(b)),
    foreign: "see the rows above",
    note: `Better-Auth's CPU/request ${fmtRatio(b.serverCpuUs / s.serverCpuUs)}x Servauth's`,
  };
}

cleanUpOnSignals();

const startedAt = Date.now();
try {
  const loadAtStart = loadAverage();
  const bareFirst = await measureBare("first");
  const betterAuth: Figure[] = [];
  for (const setup of [
    { label: "memory adapter", database: "memory", cookieCache: false, appRoute: true },
    { label: "Drizzle adapter on PGlite", database: "pglite", cookieCache: false, appRoute: true },
    { label: "Drizzle adapter on PGlite, cookie cache on (not the default)", database: "pglite", cookieCache: true, appRoute: false },
  ] as const) {
    betterAuth.push(...(await measureBetterAuth(setup)));
  }
  const servauth = await measureServauth();
  const bareLast = await measureBare("last");

  const bareRate = (okPerSecond(bareFirst.measured) + okPerSecond(bareLast.measured)) / 2;
  const bareCpuUs = (bareFirst.measured.serverCpuUs + bareLast.measured.serverCpuUs) / 2;
  for (const bare of [bareFirst, bareLast]) {
    const r = bare.measured;
    rows.push({ figure: `${bare.label} (-t${THREADS} -c${CONNECTIONS})`, value: fmtRate(okPerSecond(r)), p99: fmtMs(r.p99Us), baseline: "(baseline)", cpu: fmtCpu(r.serverCpuUs, 0), foreign: fmtCores(r.foreign), note: errorsNote(r) });
  }
  for (const figure of [...betterAuth, servauth.cookie, servauth.bearer]) rows.push(figureRow(figure, bareRate, bareCpuUs));
  for (const ours of [servauth.cookie, servauth.bearer]) for (const theirs of betterAuth) rows.push(timesRow(ours, theirs));

  const header = [
    ...runHeader("Servauth against Better-Auth", loadAtStart, loadAverage()),
    `Better-Auth ${BETTER_AUTH_VERSION} (bench/better-auth-server.ts: Hono on Bun.serve, email and password, its defaults but NODE_ENV=production and the rate limit raised; its session cookie cache is off by default; "app route": GET /session, the app's own Hono route calling \`auth.api.getSession\` as the middleware of Better-Auth's Hono guide does, which skips the router \`auth.handler\` builds for every request). Servauth: \`servauth serve\`, embedded database, production mode, rate limits raised. One user, one session each.`,
    `Each measurement ${SECONDS}s after a ${WARMUP_SECONDS}s warm-up, one server at a time; ratios to bare divide by the mean of the two bare runs (${fmtRate(bareRate)}). Total ${Math.round((Date.now() - startedAt) / 1000)}s.`,
  ].join("\n");
  const out = process.env.BENCH_OUT ?? path.join(mkdtempSync(path.join(tmpdir(), "servauth-bench-out-")), "results.json");
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), bun: Bun.version, betterAuth: BETTER_AUTH_VERSION, header, rows, raw }, null, 2));
  console.log(`\n${header}\n\n${markdownTable(rows)}\n\nRaw results: ${out}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
