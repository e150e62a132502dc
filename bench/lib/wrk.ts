import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";

const WRK_DIR = path.resolve(import.meta.dir, "../wrk");
export const scriptDir = mkdtempSync(path.join(tmpdir(), "servauth-bench-lua-"));

export type WrkResult = {
  requests: number;
  durationUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  /** HTTP answers with a status > 399. */
  non2xx3xx: number;
  timeouts: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
};

export type WrkRun = {
  url: string;
  /** bench/wrk/<script>.lua; bench/wrk/report.lua is appended to it. */
  script: string;
  threads: number;
  connections: number;
  seconds: number;
  env?: Record<string, string>;
  /** Arguments after "--", passed to the script's init(args). */
  scriptArgs?: string[];
};

/** Every wrk started, so the orchestrator can kill exactly these if it is interrupted. */
export const liveWrk = new Set<Subprocess>();

export function startWrk(run: WrkRun): { process: Subprocess; result: Promise<WrkResult> } {
  const file = path.join(scriptDir, `${run.script}.lua`);
  writeFileSync(file, `${readFileSync(path.join(WRK_DIR, `${run.script}.lua`), "utf8")}\n${readFileSync(path.join(WRK_DIR, "report.lua"), "utf8")}`);
  const args = [
    "wrk",
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    // Long enough that no slow answer falls out of the latency histogram (wrk drops those over the timeout).
    "--timeout",
    "10s",
    "-s",
    file,
    run.url,
    ...(run.scriptArgs ? ["--", ...run.scriptArgs] : []),
  ];
  const child = Bun.spawn(args, { env: { ...process.env, ...run.env }, stdout: "pipe", stderr: "pipe" });
  liveWrk.add(child);
  const result = (async () => {
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    liveWrk.delete(child);
    const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
    if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}): ${stderr}\n${stdout}`);
    return JSON.parse(line.slice("BENCH_RESULT ".length)) as WrkResult;
  })();
  return { process: child, result };
}

export function runWrk(run: WrkRun): Promise<WrkResult> {
  return startWrk(run).result;
}

/** Completed requests answered with a status below 400, per second. */
export function okPerSecond(r: WrkResult): number {
  return (r.requests - r.non2xx3xx) / (r.durationUs / 1e6);
}
