import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type DataDirLock, HEARTBEAT_INTERVAL_MS, type LockOptions, lockDataDir, STALE_AFTER_MS } from "../../src/db/data-dir-lock.ts";
import { type ProcessStart, readProcessStart } from "../../src/db/process-start.ts";

/**
 * The lock on the embedded database's DATA_DIR: a stale lock is taken over by exactly one contender, and a lock
 * nobody refreshes goes stale unless /proc shows its owner alive. Contenders here share one process: the lock tells them
 * apart by the content of the lock file they hold, as it tells processes apart by pid. Where a test judges another
 * process by its start, /proc is injected.
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
const lockContent = (pid: number, host: string, start: Partial<ProcessStart> = {}) => JSON.stringify({ pid, host, nonce: "0", ...start });

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

test("a lock nobody has refreshed for STALE_AFTER_MS is stale from another host, or from a live pid when it records no start", async () => {
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

describe("on a host with /proc, a lock records its owner's start and a live owner keeps it", () => {
  const BOOT = "boot-1";
  const later = () => Date.now() + STALE_AFTER_MS + 1_000;
  /** /proc as the test sees it: process.ppid started at tick 500 of this boot; this process at tick 900. */
  const proc: LockOptions["processStart"] = async (pid) =>
    pid === process.ppid ? { startTicks: 500, bootId: BOOT } : pid === process.pid ? { startTicks: 900, bootId: BOOT } : null;
  const withProc = (now?: () => number) => lockDataDir(dataDir, { processStart: proc, ...(now ? { now } : {}) });

  test("the lock file names the owner's start time and boot", async () => {
    held.push(await withProc());
    expect(JSON.parse(await readFile(lockFile, "utf8"))).toMatchObject({ pid: process.pid, startTicks: 900, bootId: BOOT });
  });

  test("a live owner with the same start in the same boot holds its lock however old its heartbeat (a process suspended with Ctrl-Z)", async () => {
    await writeFile(lockFile, lockContent(process.ppid, hostname(), { startTicks: 500, bootId: BOOT }));
    expect(await outcome(withProc(later))).toMatch(/is in use by process/);
    // This process's own lock too, after its heartbeat stalled.
    await rm(lockFile);
    held.push(await withProc());
    expect(await outcome(withProc(later))).toMatch(/is in use by process/);
  });

  test.each([
    ["another start time (the pid was reused)", { startTicks: 499, bootId: BOOT }],
    ["another boot (the same pid after a restart)", { startTicks: 500, bootId: "boot-0" }],
  ])("a live pid with %s is a stranger: its lock is stale, however fresh", async (_, start) => {
    await writeFile(lockFile, lockContent(process.ppid, hostname(), start));
    expect(await outcome(withProc())).toBe("held");
  });

  test.runIf(process.platform === "linux")("with the real /proc: the live parent process's lock, an hour untouched, is held", async () => {
    const parent = await readProcessStart(process.ppid);
    await writeFile(lockFile, lockContent(process.ppid, hostname(), parent ?? {}));
    expect(await outcome(lockDataDir(dataDir, { now: () => Date.now() + 3_600_000 }))).toMatch(/is in use by process/);
  });

  test("a dead pid's lock is stale, however fresh", async () => {
    await writeFile(lockFile, lockContent(DEAD_PID, hostname(), { startTicks: 500, bootId: BOOT }));
    expect(await outcome(withProc())).toBe("held");
  });

  test("a lock without the start (written by the previous version) is judged by its heartbeat", async () => {
    await writeFile(lockFile, lockContent(process.ppid, hostname()));
    expect(await outcome(withProc())).toMatch(/is in use by process/);
    expect(await outcome(withProc(later))).toBe("held");
  });

  test("without /proc (macOS) a lock is judged by its heartbeat, and records no start", async () => {
    const noProc = (now?: () => number) => lockDataDir(dataDir, { processStart: async () => null, ...(now ? { now } : {}) });
    await writeFile(lockFile, lockContent(process.ppid, hostname(), { startTicks: 500, bootId: BOOT }));
    expect(await outcome(noProc())).toMatch(/is in use by process/);
    expect(await outcome(noProc(later))).toBe("held");
    expect(JSON.parse(await readFile(lockFile, "utf8"))).not.toHaveProperty("startTicks");
  });
});
