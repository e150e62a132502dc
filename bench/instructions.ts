/**
 * Instructions per request: a figure the rest of the machine cannot disturb (valgrind counts the instructions this
 * process executes, whatever else runs), where requests/s and even CPU time per request move with other people's
 * load. It runs bench/lib/instructions-workload.ts under callgrind, on Bun and on Node, in process (`app.fetch`, no
 * sockets: the runtime's HTTP server would add the same cost to both sides of each ratio and under valgrind would
 * make every run minutes longer), against a scratch PostgreSQL database it migrates first, natively.
 *
 * Only the main thread is counted (--separate-threads): it runs the event loop, so it is what bounds a process's
 * requests/s, and its count repeats from run to run. The runtimes' helper threads (concurrent garbage collection,
 * JIT compilation) do about as much again on Bun, but as they please: over the same 1,000 requests their share
 * swung by 15%, far more than any change measured here.
 *
 * For each case it prints the median instructions per request over the measured phases (and their range), and the
 * ratios the performance issue tracks: a bare Hono route's count over /auth/me's (as requests/s would compare), and
 * the API key's over the bearer token's.
 *
 *   npm run bench:instructions                 BENCH_RUNTIMES=bun|node|bun,node (default both)
 *   bun bench/instructions.ts [n=1000] [rounds=5] [case filter, e.g. "bearer"]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createDb } from "../src/db/client.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import { withScratchDatabase } from "./lib/scratch-database.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORKLOAD = path.join(ROOT, "bench/lib/instructions-workload.ts");
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const [n = "1000", rounds = "5", only = ""] = process.argv.slice(2);
const RUNTIMES: Record<string, string[]> = {
  bun: [path.join(ROOT, "node_modules/.bin/bun"), WORKLOAD],
  node: [process.env.BENCH_NODE ?? "node", "--import", "tsx", WORKLOAD],
};
const runtimes = (process.env.BENCH_RUNTIMES ?? "bun,node").split(",");

type Phases = Map<string, number[]>;

/** Runs the workload under callgrind; each label's instruction counts per request, one per measured phase. */
function underCallgrind(command: string[], databaseUrl: string): Promise<Phases> {
  const outDir = mkdtempSync(path.join(tmpdir(), "servauth-instructions-"));
  const args = ["--tool=callgrind", "--separate-threads=yes", "--dump-before=getpriority", `--callgrind-out-file=${outDir}/cg.out`, ...command, n, rounds, only];
  return new Promise((resolve, reject) => {
    const child = spawn("valgrind", args, { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        if (code !== 0) throw new Error(`${command.join(" ")} under valgrind exited with ${code}:\n${stderr.slice(-4000)}`);
        const labels = JSON.parse(stdout.trim().split("\n").at(-1)!) as string[];
        // cg.out.1-01 holds what the main thread ran up to the first phase's end, cg.out.2-01 the next phase, ...
        const dumps = readdirSync(outDir)
          .map((name) => /^cg\.out\.(\d+)-01$/.exec(name))
          .filter((match) => match !== null)
          .map((match) => ({ index: Number(match[1]), file: path.join(outDir, match[0]) }))
          .sort((a, b) => a.index - b.index);
        if (dumps.length !== labels.length) throw new Error(`${dumps.length} dumps for ${labels.length} phases`);
        const phases: Phases = new Map();
        dumps.forEach(({ file }, i) => {
          const label = labels[i]!;
          if (label === "setup" || label.startsWith("warm-up ")) return;
          const totals = /^totals: (\d+)/m.exec(readFileSync(file, "utf8"));
          if (totals === null) throw new Error(`no totals in ${file}`);
          phases.set(label, [...(phases.get(label) ?? []), Number(totals[1]) / Number(n)]);
        });
        resolve(phases);
      } catch (error) {
        reject(error);
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
    });
  });
}

/** The commit measured, and whether src/ differs from it; a tree outside git (an extracted commit) says so. */
function describeTree(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: "pipe" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return `commit ${commit}${dirty ? " + uncommitted changes in src/" : ""}`;
  } catch {
    return `${ROOT} (not a git checkout)`;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const thousands = (value: number) => `${(value / 1000).toFixed(1)}k`;

const valgrind = execFileSync("valgrind", ["--version"], { encoding: "utf8" }).trim();
console.log(`${valgrind}; ${describeTree()}; ${n} requests per phase, ${rounds} phases per case`);

await withScratchDatabase(PG_URL, "instructions", async (database) => {
  const handle = await createDb({ kind: "postgres", url: database.url, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
  await migrateDatabase(handle);
  await handle.close();
  const rows = ["| runtime | case | instructions/request (median) | phases' range | ratio |", "|---|---|---|---|---|"];
  for (const runtime of runtimes) {
    const command = RUNTIMES[runtime];
    if (command === undefined) throw new Error(`unknown runtime ${runtime}`);
    const phases = await underCallgrind(command, database.url);
    const medians = new Map([...phases].map(([label, counts]) => [label, median(counts)]));
    const bare = medians.get("bare Hono GET /json");
    const bearer = medians.get("GET /auth/me, bearer JWT");
    for (const [label, counts] of phases) {
      const value = medians.get(label)!;
      const ratio =
        label === "GET /auth/me, API key" && bearer !== undefined
          ? `${(bearer / value).toFixed(2)} of the bearer figure's rate`
          : label !== "bare Hono GET /json" && bare !== undefined
            ? `${(bare / value).toFixed(3)} of the bare route's rate`
            : "-";
      rows.push(`| ${runtime} | ${label} | ${thousands(value)} | ${thousands(Math.min(...counts))}-${thousands(Math.max(...counts))} | ${ratio} |`);
    }
  }
  console.log(rows.join("\n"));
});
