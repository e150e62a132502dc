/**
 * `npm run bench:workers`: WORKERS=2 against WORKERS=1 on PostgreSQL, Bun: closed-loop wrk throughput of GET /auth/me
 * (bearer, 50 connections) and POST /auth/login (16 connections; argon2 work can spread over both cores). wrk
 * shares the 2 cores with the server, so these are throughput figures only.
 *
 * Environment: BENCH_SECONDS (10), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { foreignCores, processTree, sampleCpu } from "./lib/cpu.ts";
import { PASSWORD, register } from "./lib/prepare.ts";
import { withScratchDatabase } from "./lib/scratch-database.ts";
import { startServauth } from "./lib/server.ts";
import { okPerSecond, runWrk, type WrkRun } from "./lib/wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

type Figure = { rate: number; p99Ms: number; errors: number; other: number };

/** Our processes besides this one: the server (supervisor and workers) and its PostgreSQL backends. */
type OwnPids = () => Promise<number[]>;

async function measure(run: WrkRun, ownPids: OwnPids): Promise<Figure> {
  await runWrk({ ...run, seconds: 2 }); // warm-up
  const pids = await ownPids();
  const before = sampleCpu(pids);
  const result = await runWrk(run);
  const other = foreignCores(before, sampleCpu(pids));
  const errors = result.non2xx3xx + result.timeouts + result.connectErrors + result.readErrors + result.writeErrors;
  return { rate: okPerSecond(result), p99Ms: result.p99Us / 1000, errors, other };
}

async function figuresFor(workers: number, databaseUrl: string, backends: () => Promise<number[]>): Promise<{ me: Figure; login: Figure }> {
  const server = await startServauth({ databaseUrl }, { WORKERS: String(workers) });
  const ownPids = async () => [...processTree(server.pid), ...(await backends())];
  try {
    // /health answers once the first worker listens; let the others come up before measuring.
    await Bun.sleep(3_000);
    const user = await register(server.url, `workers-${workers}-${Date.now()}@example.com`);
    const me = await measure({ url: `${server.url}/auth/me`, script: "get", threads: 2, connections: 50, seconds: SECONDS, env: { BENCH_AUTHORIZATION: `Bearer ${user.accessToken}` } }, ownPids);
    const loginBody = JSON.stringify({ email: user.email, password: PASSWORD });
    const login = await measure({ url: server.url, script: "login", threads: 2, connections: 16, seconds: SECONDS, env: { BENCH_LOGIN_BODY: loginBody } }, ownPids);
    return { me, login };
  } finally {
    await server.stop();
  }
}

const fmt = (f: Figure) => `${Math.round(f.rate).toLocaleString("en-US")} req/s (p99 ${f.p99Ms.toFixed(1)} ms, ${f.errors} errors, other CPU ${f.other.toFixed(2)} cores)`;

async function main() {
  const [one, two] = await withScratchDatabase(PG_URL, "workers", async ({ url, backends }) => [
    await figuresFor(1, url, backends),
    await figuresFor(2, url, backends),
  ]);
  console.log("| route | WORKERS=1 | WORKERS=2 | ratio |\n|---|---|---|---|");
  console.log(`| GET /auth/me (bearer, 50 conns) | ${fmt(one.me)} | ${fmt(two.me)} | ${(two.me.rate / one.me.rate).toFixed(2)} |`);
  console.log(`| POST /auth/login (16 conns) | ${fmt(one.login)} | ${fmt(two.login)} | ${(two.login.rate / one.login.rate).toFixed(2)} |`);
}

await main();
