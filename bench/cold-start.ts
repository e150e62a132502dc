/**
 * `npm run bench:cold-start`: process start to the first 200 from GET /ready, on an existing embedded data directory
 * and on an existing (migrated) PostgreSQL database, on Bun and on Node; then the resident memory of the idle server.
 * Each start is timed BENCH_STARTS times (default 5); the machine's other CPU use is recorded with each figure.
 *
 * Environment: BENCH_STARTS (5), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres; "skip" to skip).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { foreignCores, sampleCpu } from "./lib/cpu.ts";
import { withScratchDatabase } from "./lib/scratch-database.ts";
import { type Database, BUN, freePort, generousRateLimits, ROOT, servauthEnv } from "./lib/server.ts";

const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const POLL_MS = 5;
const COMMANDS = { bun: [BUN, "src/cli/main.ts", "serve"], node: ["node", "--import", "tsx", "src/cli/main.ts", "serve"] };

/** Resident memory of a process, in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : 0;
}

type Start = { ms: number; rssMiB: number };

/** Starts the server, polls /ready every few ms, measures, stops it (SIGTERM, waits). */
async function timeStart(runtime: keyof typeof COMMANDS, database: Database): Promise<Start> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", HOST: "127.0.0.1", PORT: String(port) };
  const started = performance.now();
  const child = Bun.spawn(COMMANDS[runtime], { cwd: ROOT, env: { ...env, ...servauthEnv(url, database, await generousRateLimits()) }, stdout: "ignore", stderr: "inherit" });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${runtime} exited with ${child.exitCode}`);
      const ok = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (performance.now() - started > 60_000) throw new Error(`${runtime} not ready within 60 s`);
      await Bun.sleep(POLL_MS);
    }
    const ms = performance.now() - started;
    await Bun.sleep(1_000); // idle: let start-up garbage be collected before reading the resident memory
    return { ms, rssMiB: rssMiB(child.pid) };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function series(label: string, runtime: keyof typeof COMMANDS, database: Database): Promise<string> {
  await timeStart(runtime, database); // creates / migrates what the timed starts then find existing
  const before = sampleCpu([]);
  const starts: Start[] = [];
  for (let i = 0; i < STARTS; i++) starts.push(await timeStart(runtime, database));
  const other = foreignCores(before, sampleCpu([]));
  const ms = starts.map((s) => s.ms);
  const line = `| ${label} | ${runtime} | ${median(ms).toFixed(0)} ms | ${Math.max(...ms).toFixed(0)} ms | ${median(starts.map((s) => s.rssMiB)).toFixed(0)} MiB | ${other.toFixed(2)} cores |`;
  console.log(line);
  return line;
}

async function main() {
  console.log(`| database | runtime | start -> /ready 200 (median of ${STARTS}) | max | idle RSS | other CPU |\n|---|---|---|---|---|---|`);
  const dataDir = mkdtempSync(path.join(tmpdir(), "servauth-cold-"));
  try {
    for (const runtime of ["bun", "node"] as const) await series("embedded, existing data dir", runtime, { dataDir });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (PG_URL === "skip") return;
  await withScratchDatabase(PG_URL, "cold", async ({ url }) => {
    for (const runtime of ["bun", "node"] as const) await series("PostgreSQL, migrated", runtime, { databaseUrl: url });
  });
}

await main();
