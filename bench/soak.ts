/**
 * `npm run bench:soak`: BENCH_SOAK_SECONDS (300) of mixed traffic on PostgreSQL, Bun, one process. A new client
 * flow starts every 1000 / BENCH_FLOWS_PER_SECOND ms whatever the server's speed (open loop): register, log in, GET
 * /auth/me three times, refresh, log out. Reports every answer that was not the expected status, the server's
 * resident memory at the start and the end, and the largest event-loop stall prom-client saw (/metrics, scraped
 * every 5 s; its lag histogram restarts at every scrape).
 *
 * Environment: BENCH_SOAK_SECONDS (300), BENCH_FLOWS_PER_SECOND (5), BENCH_PG_URL.
 */
import { readFileSync } from "node:fs";
import { foreignCores, processTree, sampleCpu } from "./lib/cpu.ts";
import { PASSWORD } from "./lib/prepare.ts";
import { type ScratchDatabase, withScratchDatabase } from "./lib/scratch-database.ts";
import { startServauth } from "./lib/server.ts";

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300);
const FLOWS_PER_SECOND = Number(process.env.BENCH_FLOWS_PER_SECOND ?? 5);
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

type Tally = { requests: number; unexpected: Map<string, number> };

async function call(tally: Tally, base: string, step: string, expected: number, init: RequestInit & { path: string }) {
  tally.requests++;
  const response = await fetch(`${base}${init.path}`, { ...init, signal: AbortSignal.timeout(10_000) }).catch((error: Error) => error);
  if (response instanceof Error || response.status !== expected) {
    const key = `${step} ${response instanceof Error ? response.name : response.status}`;
    tally.unexpected.set(key, (tally.unexpected.get(key) ?? 0) + 1);
    return undefined;
  }
  return response.status === 204 ? {} : ((await response.json()) as Record<string, string>);
}

/** One client's life: register, log in, read its profile, refresh, log out. */
async function flow(tally: Tally, base: string, n: number) {
  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const email = `soak-${Date.now().toString(36)}-${n}@example.com`;
  if ((await call(tally, base, "register", 201, { path: "/auth/register", ...json({ email, password: PASSWORD }) })) === undefined) return;
  const login = await call(tally, base, "login", 200, { path: "/auth/login", ...json({ email, password: PASSWORD }) });
  if (login === undefined) return;
  const bearer = { authorization: `Bearer ${login.accessToken}` };
  for (let i = 0; i < 3; i++) await call(tally, base, "me", 200, { path: "/auth/me", headers: bearer });
  const refreshed = await call(tally, base, "refresh", 200, { path: "/auth/refresh", ...json({ refreshToken: login.refreshToken }) });
  if (refreshed === undefined) return;
  await call(tally, base, "logout", 204, { path: "/auth/logout", method: "POST", headers: { authorization: `Bearer ${refreshed.accessToken}` } });
}

async function maxEventLoopLagMs(base: string): Promise<number> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text(), () => "");
  return Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? 0) * 1000;
}

async function main(database: ScratchDatabase) {
  const server = await startServauth({ databaseUrl: database.url });
  try {
    const tally: Tally = { requests: 0, unexpected: new Map() };
    await flow(tally, server.url, -1); // warm-up, not counted below
    tally.requests = 0;
    tally.unexpected.clear();
    await maxEventLoopLagMs(server.url);
    const rssStart = rssMiB(server.pid);
    const pids = [...processTree(server.pid), ...(await database.backends())];
    const before = sampleCpu(pids);
    let maxLag = 0;
    const scraper = setInterval(() => void maxEventLoopLagMs(server.url).then((lag) => (maxLag = Math.max(maxLag, lag))), 5_000);
    const flows: Promise<void>[] = [];
    const started = performance.now();
    for (let n = 0; performance.now() - started < SECONDS * 1000; n++) {
      flows.push(flow(tally, server.url, n));
      await Bun.sleep(Math.max(0, started + ((n + 1) * 1000) / FLOWS_PER_SECOND - performance.now()));
    }
    await Promise.all(flows);
    clearInterval(scraper);
    maxLag = Math.max(maxLag, await maxEventLoopLagMs(server.url));
    const other = foreignCores(before, sampleCpu(pids));
    console.log(
      `soak: ${SECONDS} s, ${flows.length} flows (${FLOWS_PER_SECOND}/s), ${tally.requests} requests, ` +
        `${[...tally.unexpected.values()].reduce((a, b) => a + b, 0)} unexpected answers ${JSON.stringify(Object.fromEntries(tally.unexpected))}; ` +
        `server RSS ${rssStart.toFixed(0)} MiB at the start, ${rssMiB(server.pid).toFixed(0)} MiB at the end; ` +
        `max event-loop stall ${maxLag.toFixed(1)} ms; other CPU ${other.toFixed(2)} cores`,
    );
  } finally {
    await server.stop();
  }
}

await withScratchDatabase(PG_URL, "soak", main);
