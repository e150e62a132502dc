import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./spawn-server.ts";

/**
 * A redis-server of the test's own on a free port, never the machine's shared one: a test may kill it (an outage)
 * and start it again on the same port (the outage ends). Nothing is persisted.
 */
export type PrivateRedis = {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: a crash, not a shutdown) and waits until it is gone. Safe when already stopped. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  restart(): Promise<void>;
  /** Kills it for good and removes its working directory. */
  close(): Promise<void>;
  /** Everything it wrote, across restarts. */
  output(): string;
};

/** Whether `redis-server` can be run from PATH. */
export function hasRedisServer(): boolean {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore", timeout: 5_000 });
  return probe.error === undefined && probe.status === 0;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

const READY_TIMEOUT_MS = 10_000;

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), "servauth-redis-"));
  let captured = "";
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
    const started = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    live.add(started);
    started.stdout?.setEncoding("utf8").on("data", (chunk: string) => (captured += chunk));
    started.stderr?.setEncoding("utf8").on("data", (chunk: string) => (captured += chunk));
    started.once("exit", () => live.delete(started));
    started.once("error", (error) => (captured += `\n[spawn error] ${error.message}\n`));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await answersPing(port))) {
      if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
        await kill();
        throw new Error(`redis-server on port ${port} did not come up; output:\n${captured}`);
      }
      await sleep(20);
    }
  }

  async function kill(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGKILL");
    await exited;
  }

  try {
    await launch();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
    output: () => captured,
  };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      reply += chunk;
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
