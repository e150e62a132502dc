import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { e2eRuntimes, type Runtime, runCli, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * PGlite is single-process: a second process on the same data directory used to start (or report "created user")
 * and lose its writes. Every process that opens DATA_DIR takes an exclusive lock; a second one refuses in one line.
 * @see issue 13, item 1
 */

const PASSWORD = "correct horse battery staple";
const IN_USE = /^servauth (serve|users create): the embedded database in (.+) is in use by process (\d+); stop it, or use DATABASE_URL=postgres:\/\/\.\.\. \(if that process is gone, delete (.+)\)\n$/;

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop("SIGKILL")));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-lock-"));
  dirs.push(dir);
  return dir;
}

async function start(runtime: Runtime, dataDir: string): Promise<SpawnedServer> {
  // A fresh embedded database on a busy machine can take a minute (initdb, migrations).
  const server = await spawnServer({ runtime, dataDir, startTimeoutMs: 150_000 });
  servers.push(server);
  return server;
}

const createUser = (runtime: Runtime, dataDir: string, email: string) =>
  runCli(runtime, ["users", "create", "--email", email, "--password-stdin"], { DATA_DIR: dataDir }, 150_000, PASSWORD);

async function loginStatus(server: SpawnedServer, email: string): Promise<number> {
  const response = await fetch(`${server.url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  await response.body?.cancel();
  return response.status;
}

function expectInUseBy(stderr: string, dataDir: string): void {
  const match = IN_USE.exec(stderr);
  expect(match, stderr).not.toBeNull();
  expect(match?.[2]).toBe(dataDir);
  expect(match?.[4]).toBe(path.join(dataDir, "pgdata.lock"));
  // The named process is the running server, alive.
  expect(() => process.kill(Number(match?.[3]), 0)).not.toThrow();
}

describe.each<Runtime>(e2eRuntimes())("on %s", (runtime) => {
  test("a second server and a CLI command on a data directory in use refuse in one line; after a clean stop the CLI's user is kept", { timeout: 400_000 }, async () => {
    const dataDir = await freshDataDir();
    const server = await start(runtime, dataDir);

    const second = await runCli(runtime, ["serve"], { DATA_DIR: dataDir, PORT: "0" }, 150_000);
    expect(second.code, second.stderr).toBe(1);
    expectInUseBy(second.stderr, dataDir);

    const refused = await createUser(runtime, dataDir, "refused@example.com");
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stdout).toBe("");
    expectInUseBy(refused.stderr, dataDir);

    // A clean stop releases the lock; the CLI then runs, and its user is there for the next server.
    expect(await server.stop()).toBe(0);
    expect(existsSync(path.join(dataDir, "pgdata.lock"))).toBe(false);
    const created = await createUser(runtime, dataDir, "kept@example.com");
    expect(created.code, created.stderr).toBe(0);
    const next = await start(runtime, dataDir);
    expect(await loginStatus(next, "kept@example.com")).toBe(200);
    expect(await loginStatus(next, "refused@example.com")).toBe(401);
  });

  test("a crashed server's lock is stale: the next start takes it over", { timeout: 400_000 }, async () => {
    const dataDir = await freshDataDir();
    const crashed = await start(runtime, dataDir);
    await crashed.stop("SIGKILL");
    expect(existsSync(path.join(dataDir, "pgdata.lock"))).toBe(true);

    const next = await start(runtime, dataDir);
    expect((await fetch(`${next.url}/health`)).status).toBe(200);
  });
});

test("a lock left by a process that no longer exists is taken over; one held on another host is refused with a way out", { timeout: 400_000 }, async () => {
  const dataDir = await freshDataDir();
  await mkdir(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, "pgdata.lock");
  // Past the largest pid Linux hands out (2^22), so certainly not running.
  await writeFile(lockFile, JSON.stringify({ pid: 4_194_305, host: hostname(), nonce: "0" }));
  const created = await createUser("bun", dataDir, "after-crash@example.com");
  expect(created.code, created.stderr).toBe(0);

  await writeFile(lockFile, JSON.stringify({ pid: 42, host: "elsewhere", nonce: "0" }));
  const refused = await createUser("bun", dataDir, "refused@example.com");
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    `servauth users create: the embedded database in ${dataDir} is in use by process 42 on host elsewhere; stop it, or use DATABASE_URL=postgres://... (if that process is gone, delete ${lockFile})\n`,
  );
});

test("two servers started at once on one data directory: exactly one serves, the other refuses", { timeout: 400_000 }, async () => {
  const dataDir = await freshDataDir();
  const results = await Promise.allSettled([start("bun", dataDir), start("bun", dataDir)]);
  const served = results.filter((result) => result.status === "fulfilled");
  const refused = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
  expect(served).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(String(refused[0]?.reason)).toMatch(/exited before it was healthy \(code 1[\s\S]*the embedded database in .+ is in use by process \d+/);
});
