import { createServer } from "node:net";
import path from "node:path";
import type { Subprocess } from "bun";

export const ROOT = path.resolve(import.meta.dir, "../..");
/** The repository's own Bun (the `bun` npm package), the runtime `npm start` uses. */
export const BUN = path.join(ROOT, "node_modules/.bin/bun");

/** Every server started, so the orchestrator can stop exactly these if it is interrupted. */
export const liveServers = new Set<Subprocess>();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

export type RunningProcess = { url: string; pid: number; stop(): Promise<void>; output(): string };

/** Spawns `bun <args>` with PORT=<free port>, waits until `readyPath` answers 200. */
export async function startBunProcess(
  args: string[],
  env: (url: string) => Record<string, string>,
  readyPath: string,
): Promise<RunningProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child = Bun.spawn([BUN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", HOST: "127.0.0.1", PORT: String(port), ...env(url) },
    stdout: "pipe",
    stderr: "pipe",
  });
  liveServers.add(child);
  for (const stream of [child.stdout, child.stderr]) {
    void (async () => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += decoder.decode(chunk.value);
    })();
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 12_000);
      await child.exited;
      clearTimeout(timer);
    }
    liveServers.delete(child);
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(url + readyPath).then((r) => r.ok, () => false);
    if (ok) return { url, pid: child.pid, stop, output: () => output };
    await Bun.sleep(100);
  }
  await stop();
  throw new Error(`${args.join(" ")} did not become ready on ${url}:\n${output}`);
}

export function startBareServer(): Promise<RunningProcess> {
  return startBunProcess(["bench/bare-server.ts"], () => ({}), "/json");
}

/**
 * Rate limits would refuse a load test that comes from one address with one account (that is their job). Every
 * rule that is on by default is raised far above the load instead of turned off, so its store is still consulted
 * on every request and its cost is part of the figures; rules that are off by default stay off. Read from the
 * source, so a new rule is covered; nothing when the server has no rate limits.
 */
export async function generousRateLimits(): Promise<Record<string, string>> {
  const modulePath = path.join(ROOT, "src/abuse/rules.ts");
  if (!(await Bun.file(modulePath).exists())) return {};
  const rules = (await import(modulePath)) as {
    DEFAULT_RULES: Record<string, { max: number; windowSeconds: number } | null>;
    ruleVariable: (name: string) => string;
  };
  const env: Record<string, string> = {};
  for (const [name, rule] of Object.entries(rules.DEFAULT_RULES)) {
    if (rule !== null) env[rules.ruleVariable(name)] = `1000000/${rule.windowSeconds}`;
  }
  return env;
}

export type Database = { dataDir: string } | { databaseUrl: string };

/** The environment of the real server in production mode; `limits` from generousRateLimits(). */
export function servauthEnv(url: string, database: Database, limits: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: "production",
    APP_URL: url,
    AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
    LOG_LEVEL: "warn",
    // The benchmarks send no mail that anyone reads.
    MAIL_TRANSPORT: "log",
    ...limits,
    ...("dataDir" in database ? { DATA_DIR: database.dataDir } : { DATABASE_URL: database.databaseUrl }),
  };
}

/** The real server as an operator starts it (`bun src/cli/main.ts serve`), production mode; `extra` on top (WORKERS). */
export async function startServauth(database: Database, extra: Record<string, string> = {}): Promise<RunningProcess> {
  const limits = await generousRateLimits();
  const env = (url: string): Record<string, string> => ({ ...servauthEnv(url, database, limits), ...extra });
  // BENCH_CPU_PROF=<dir>: Bun's sampling profiler on the server, written there (markdown too) when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return startBunProcess([...profile, "src/cli/main.ts", "serve"], env, "/health");
}
