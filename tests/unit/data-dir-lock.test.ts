import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { type DataDirLock, HEARTBEAT_INTERVAL_MS, lockDataDir, STALE_AFTER_MS } from "../../src/db/data-dir-lock.ts";

/**
 * The lock on the embedded database's DATA_DIR: a stale lock is taken over by exactly one contender, and a lock
 * nobody refreshes goes stale whatever its host and pid. Contenders here share one process: the lock tells them
 * apart by the content of the lock file they hold, as it tells processes apart by pid.
 */

let dir: string;
let dataDir: string;
let lockFile: string;
const held: DataDirLock[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "servauth-lock-"));
  dataDir = path.join(dir, "pgdata");
  lockFile = `${dataDir}.lock`;
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(held.splice(0).map((lock) => lock.release()));
  await rm(dir, { recursive: true, force: true });
});

// Past the largest pid Linux hands out (2^22), so certainly not running.
const DEAD_PID = 4_194_305;
const lockContent = (pid: number, host: string) => JSON.stringify({ pid, host, nonce: "0" });

/** "held" or the refusal's message; a held lock is released after the test. */
async function outcome(attempt: Promise<DataDirLock>): Promise<string> {
  try {
    held.push(await attempt);
    return "held";
  } catch (error) {
    return (error as Error).message;
  }
}

test("contenders arriving between every step of a stale lock's take-over: exactly one holds it", async () => {
  await writeFile(lockFile, lockContent(DEAD_PID, hostname()));
  // A reads the stale lock; at each later step of A's take-over, one more contender runs to its end.
  const others: string[] = [];
  const first = await outcome(lockDataDir(dataDir, { onStep: async () => void others.push(await outcome(lockDataDir(dataDir))) }));
  const results = [first, ...others];
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(results.filter((result) => result === "held"), results.join("\n")).toHaveLength(1);
  for (const refused of results.filter((result) => result !== "held")) expect(refused).toMatch(/is in use by process/);
});

test("a lock nobody has refreshed for STALE_AFTER_MS is stale even from another host or a live pid", async () => {
  const later = () => Date.now() + STALE_AFTER_MS + 1_000;
  await writeFile(lockFile, lockContent(42, "a-killed-container"));
  expect(await outcome(lockDataDir(dataDir, { now: later }))).toBe("held");
  await held.pop()?.release();

  // A pid reused on this host: alive, but not the process that wrote the lock.
  await writeFile(lockFile, lockContent(process.ppid, hostname()));
  expect(await outcome(lockDataDir(dataDir, { now: later }))).toBe("held");
});

test("a fresh lock is refused, naming the lock file as the way out (on this host too)", async () => {
  await writeFile(lockFile, lockContent(process.ppid, hostname()));
  expect(await outcome(lockDataDir(dataDir))).toBe(
    `the embedded database in ${dir} is in use by process ${process.ppid}; stop it, or use DATABASE_URL=postgres://... (if that process is gone, delete ${lockFile})`,
  );
  await writeFile(lockFile, lockContent(1234, "elsewhere"));
  expect(await outcome(lockDataDir(dataDir))).toBe(
    `the embedded database in ${dir} is in use by process 1234 on host elsewhere; stop it, or use DATABASE_URL=postgres://... (if that process is gone, delete ${lockFile})`,
  );
});

test("the holder refreshes its lock file's time with a heartbeat, so a live holder's lock never goes stale", async () => {
  vi.useFakeTimers({ toFake: ["setInterval"] });
  held.push(await lockDataDir(dataDir));
  const longAgo = new Date(Date.now() - 10 * STALE_AFTER_MS);
  await utimes(lockFile, longAgo, longAgo);
  vi.advanceTimersByTime(HEARTBEAT_INTERVAL_MS);
  await vi.waitFor(async () => expect((await stat(lockFile)).mtimeMs).toBeGreaterThan(Date.now() - STALE_AFTER_MS));
  expect(await outcome(lockDataDir(dataDir))).toMatch(/is in use by process/);
  expect(await readFile(lockFile, "utf8")).toContain(`"pid":${process.pid}`);
});

test("a holder whose lock was taken over (it stalled past STALE_AFTER_MS) is told at its next heartbeat", async () => {
  vi.useFakeTimers({ toFake: ["setInterval"] });
  let lost = 0;
  held.push(await lockDataDir(dataDir, { onLost: () => void lost++ }));
  vi.advanceTimersByTime(HEARTBEAT_INTERVAL_MS);
  // Another process takes the lock over: it removes ours and links its own.
  await rm(lockFile);
  await writeFile(lockFile, lockContent(process.ppid, hostname()));
  vi.advanceTimersByTime(HEARTBEAT_INTERVAL_MS);
  await vi.waitFor(() => expect(lost).toBe(1));
  vi.advanceTimersByTime(HEARTBEAT_INTERVAL_MS);
  expect(lost).toBe(1);
});
