/**
 * `npm run bench:open-loop` (raises the file-descriptor limit, then runs this): 10,000 keep-alive connections held
 * open against GET /auth/me (bearer) on PostgreSQL, Bun, one process; an open-loop aggregate rate spread over them
 * (bench/lib/open-loop.ts). First BENCH_RATE (5,000/s) for BENCH_SECONDS (20), then a search for the highest rate
 * whose p99 stays under 50 ms. The generator shares the 2 cores with the server: its own send lag is reported.
 *
 * Environment: BENCH_CONNECTIONS (10000), BENCH_RATE (5000), BENCH_SECONDS (20), BENCH_STEP_SECONDS (10),
 * BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { readFileSync } from "node:fs";
import { foreignCores, processTree, sampleCpu } from "./lib/cpu.ts";
import { openPool, type RunResult, runOpenLoop } from "./lib/open-loop.ts";
import { register } from "./lib/prepare.ts";
import { withScratchDatabase } from "./lib/scratch-database.ts";
import { startServauth } from "./lib/server.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 10);
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const P99_TARGET_MS = 50;

const memory = (pid: number, field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : "lost");
function report(label: string, r: RunResult, other: number) {
  console.log(
    `| ${label} | ${r.rate.toLocaleString("en-US")}/s | ${r.sent} | ${r.answered} | ${r.non2xx} | ${r.dropped} | ${r.unanswered} | ` +
      `${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.sendLagP99.toFixed(1)} ms | ${other.toFixed(2)} cores |`,
  );
}

async function measured(pool: Awaited<ReturnType<typeof openPool>>, request: string, rate: number, seconds: number, serverPid: number) {
  const pids = processTree(serverPid);
  const before = sampleCpu(pids);
  const result = await runOpenLoop(pool, request, rate, seconds);
  return { result, other: foreignCores(before, sampleCpu(pids)) };
}

async function main(databaseUrl: string) {
  const server = await startServauth({ databaseUrl });
  try {
    const idleRss = memory(server.pid, "VmRSS");
    const user = await register(server.url, `open-loop-${Date.now()}@example.com`);
    const { hostname, port } = new URL(server.url);
    const request = `GET /auth/me HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${user.accessToken}\r\n\r\n`;
    const pool = await openPool(hostname, Number(port), CONNECTIONS);
    console.log(`${pool.sockets.length} connections open; server RSS idle ${idleRss.toFixed(0)} MiB, with them open ${memory(server.pid, "VmRSS").toFixed(0)} MiB`);
    console.log("| run | rate | sent | answered | non-2xx | dropped conns | unanswered | p50 | p95 | p99 | max | generator lag p99 | other CPU |");
    console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    await runOpenLoop(pool, request, 1_000, 3); // warm-up: JIT, session cache
    const main = await measured(pool, request, RATE, SECONDS, server.pid);
    report(`${CONNECTIONS} conns, ${SECONDS} s`, main.result, main.other);
    if (main.result.dropped > 0) console.log(`server output:\n${server.output().slice(-3000)}`);
    let best = 0;
    for (const rate of [2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000]) {
      const step = await measured(pool, request, rate, STEP_SECONDS, server.pid);
      report(`search, ${STEP_SECONDS} s`, step.result, step.other);
      const clean = step.result.p99 < P99_TARGET_MS && step.result.non2xx === 0 && step.result.unanswered === 0;
      if (step.result.dropped > 0) console.log(`server output:\n${server.output().slice(-3000)}`);
      if (!clean) break;
      best = rate;
    }
    console.log(`highest rate with p99 < ${P99_TARGET_MS} ms: ${best.toLocaleString("en-US")}/s; server peak RSS ${memory(server.pid, "VmHWM").toFixed(0)} MiB`);
    pool.close();
  } finally {
    await server.stop();
  }
}

await withScratchDatabase(PG_URL, "openloop", (database) => main(database.url));
