import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RULE_NAMES, ruleVariable } from "../../src/abuse/rules.ts";

/** End-to-end flows register and sign in many times from 127.0.0.1; a test that wants a limit sets it. */
const RATE_LIMITS_OFF = Object.fromEntries(RULE_NAMES.map((name) => [ruleVariable(name), "off"]));

/** The repository root: `npm start` and the CLI run from here. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type Runtime = "bun" | "node";

/**
 * The runtimes an e2e file that runs on both starts its servers on. SERVAUTH_TEST_RUNTIMES (a comma list) narrows
 * them: the e2e-node-alt project (vitest.config.ts) re-runs only the Node half, on another Node.
 */
export function e2eRuntimes(): Runtime[] {
  const chosen = process.env.SERVAUTH_TEST_RUNTIMES?.split(",");
  return (["bun", "node"] as const).filter((runtime) => chosen === undefined || chosen.includes(runtime));
}

/** The node binary the servers and the CLI run on: SERVAUTH_TEST_NODE when set, else the one on PATH. */
const NODE_BINARY = process.env.SERVAUTH_TEST_NODE || undefined;

/** How each runtime is started, exactly as an operator would (package.json scripts). */
const NPM_ARGS: Record<Runtime, string[]> = { bun: ["start"], node: ["run", "start:node"] };

/** Environment values; `undefined` removes a variable the helper would otherwise set. */
export type EnvOverrides = Record<string, string | undefined>;

export type SpawnServerOptions = {
  runtime: Runtime;
  /** Reused as is (and kept) when given; otherwise a fresh temporary directory, removed by stop(). */
  dataDir?: string;
  databaseUrl?: string;
  /** Applied last, over everything the helper sets. */
  env?: EnvOverrides;
  /** How long to wait for GET /health to answer 200. A fresh embedded database takes a few seconds. */
  startTimeoutMs?: number;
};

export type SpawnedServer = {
  /** http://127.0.0.1:PORT, also the server's APP_URL. */
  url: string;
  port: number;
  dataDir: string;
  /**
   * Sends `signal` to the server process (npm and its shell then pass its exit status on), waits for it to exit, then
   * kills whatever is left of the process group. Resolves with npm's exit code, which is the server's; null if it
   * ended by a signal. Safe to call again or after the process is gone.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
};

/** A TCP port that was free a moment ago: listen on port 0 and give it back. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      if (address === null || typeof address === "string") {
        probe.close();
        reject(new Error("could not read the probe's port"));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

/**
 * A minimal environment: what npm and the runtimes need to run, nothing from the developer's shell that could
 * change the server's configuration (DATABASE_URL, AUTH_SECRET, ...).
 */
export function baseEnv(overrides: EnvOverrides = {}): Record<string, string> {
  const inherited: EnvOverrides = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "TMP", "TEMP", "SystemRoot", "USERPROFILE", "APPDATA"]) {
    inherited[name] = process.env[name];
  }
  // npm and `npm run start:node` find node on PATH: the chosen binary's directory comes first.
  if (NODE_BINARY !== undefined) inherited.PATH = [path.dirname(NODE_BINARY), inherited.PATH].filter(Boolean).join(path.delimiter);
  const merged: EnvOverrides = { ...inherited, NODE_ENV: "test", LOG_LEVEL: "warn", ...RATE_LIMITS_OFF, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Live process groups, killed if the test process exits without stopping them (a failed or timed-out test). */
const liveGroups = new Set<number>();
process.once("exit", () => {
  for (const pgid of liveGroups) killGroup(pgid, "SIGKILL");
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the whole group is gone already.
  }
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ash"]);

/**
 * The server's process id(s): npm's children, looking through the shell npm runs the script with. Not the leaves
 * of the tree: on Node, tsx keeps an esbuild service process below the server.
 */
function serverProcesses(npmPid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile("ps", ["-A", "-o", "pid=,ppid=,comm="], (error, stdout) => {
      if (error) return resolve([]);
      const children = new Map<number, { pid: number; name: string }[]>();
      for (const line of stdout.split("\n")) {
        const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
        if (match === null) continue;
        const [, pid, ppid, comm] = match;
        const entry = { pid: Number(pid), name: path.basename((comm ?? "").trim()) };
        children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), entry]);
      }
      let level = children.get(npmPid) ?? [];
      while (level.length === 1 && level[0] !== undefined && SHELLS.has(level[0].name)) {
        level = children.get(level[0].pid) ?? [];
      }
      resolve(level.map((entry) => entry.pid));
    });
  });
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function waitForExit(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 15_000;

/** Starts the real server (`npm start` or `npm run start:node`) on a free port and waits until it is healthy. */
export async function spawnServer(options: SpawnServerOptions): Promise<SpawnedServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "servauth-e2e-")));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = baseEnv({
    PORT: String(port),
    HOST: "127.0.0.1",
    APP_URL: url,
    DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl,
    ...options.env,
  });

  // detached: a process group of its own (npm, its shell, the server), so it can be signalled as a whole.
  const child = spawn("npm", NPM_ARGS[options.runtime], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pgid = child.pid;
  if (pgid === undefined) {
    throw await new Promise<Error>((resolve) =>
      child.once("error", (error) => resolve(new Error(`could not start npm: ${error.message}`))),
    );
  }
  liveGroups.add(pgid);

  let captured = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (captured += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (captured += chunk));
  const exited = waitForExit(child);
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  child.once("error", (error) => (captured += `\n[spawn error] ${error.message}\n`));

  let stopping: Promise<number | null> | undefined;
  const stop = (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // Signalling the whole group would reach npm too, which then dies of the signal instead of passing on the
        // server's exit status.
        const targets = await serverProcesses(pgid);
        if (targets.length === 0) killGroup(pgid, signal);
        for (const target of targets) {
          try {
            process.kill(target, signal);
          } catch {
            // Gone meanwhile.
          }
        }
        if ((await within(exited, STOP_GRACE_MS)) === "timeout") {
          captured += `\n[spawn-server] no exit ${STOP_GRACE_MS} ms after ${signal}; killing the process group\n`;
          killGroup(pgid, "SIGKILL");
        }
      }
      const { code } = await exited;
      // Whatever npm left behind (nothing, normally).
      killGroup(pgid, "SIGKILL");
      liveGroups.delete(pgid);
      await within(closed, 2_000);
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    })();
    return stopping;
  };

  const timeoutMs = options.startTimeoutMs ?? 50_000;
  const deadline = Date.now() + timeoutMs;
  let exitedEarly: Exit | undefined;
  void exited.then((exit) => (exitedEarly = exit));
  let lastError = "no answer yet";
  for (;;) {
    if (exitedEarly !== undefined) {
      await stop();
      throw new Error(
        `the ${options.runtime} server exited before it was healthy (code ${exitedEarly.code}, signal ${exitedEarly.signal}); output:\n${captured}`,
      );
    }
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`the ${options.runtime} server was not healthy within ${timeoutMs} ms (${lastError}); output:\n${captured}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.status === 200) break;
      lastError = `GET /health answered ${response.status}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await within(exited, POLL_INTERVAL_MS);
  }

  return { url, port, dataDir, stop, output: () => captured };
}

export type CommandResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/**
 * Runs the CLI (`bun src/cli/main.ts ...` or `node --import tsx src/cli/main.ts ...`) directly, without npm, so
 * that stderr holds only what the CLI wrote. Killed after `timeoutMs`. `input` is written to its standard input
 * (otherwise it reads an empty one).
 */
export function runCli(
  runtime: Runtime,
  args: string[],
  env: EnvOverrides = {},
  timeoutMs = 30_000,
  input?: string,
): Promise<CommandResult> {
  const [command, prefix] =
    runtime === "bun"
      ? [path.join(ROOT, "node_modules", ".bin", "bun"), []]
      : [NODE_BINARY ?? "node", ["--import", "tsx"]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, "src/cli/main.ts", ...args], {
      cwd: ROOT,
      env: baseEnv(env),
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    // EPIPE when the CLI exits before reading it (a usage error): not the test's concern.
    child.stdin?.on("error", () => {});
    child.stdin?.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
