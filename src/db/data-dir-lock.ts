import { randomBytes } from "node:crypto";
import { type FileHandle, link, open, rename, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { type ProcessStart, type ProcessStartReader, readProcessStart } from "./process-start.ts";

/**
 * Who holds a lock: written once, complete, before the lock file appears. `startTicks` and `bootId` (the owner's
 * ProcessStart) are there where /proc is (Linux), and absent in a lock written without /proc or by a version before them.
 */
type LockOwner = { pid: number; host: string; nonce: string } & Partial<ProcessStart>;

/** Another live process holds the embedded database; the message is the one line an operator sees. */
export class DataDirInUseError extends Error {
  constructor(where: string, owner: LockOwner, lockFile: string) {
    const onHost = owner.host === hostname() ? "" : ` on host ${owner.host}`;
    super(
      `the embedded database in ${where} is in use by process ${owner.pid}${onHost}; stop it, or use DATABASE_URL=postgres://... ` +
        `(if that process is gone, delete ${lockFile})`,
    );
    this.name = "DataDirInUseError";
  }
}

export type DataDirLock = { release(): Promise<void> };

/**
 * The holder touches its lock file this often, so that a lock nobody touches is known to be abandoned even when its
 * owner cannot be checked: written from another host (a killed container replaced by one with a new hostname), or on
 * this host without the owner's start (no /proc) by a pid that may since have been reused.
 */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/**
 * A lock untouched this long is stale, unless its owner is known alive on this host: six missed heartbeats, room for
 * a stalled disk or a busy event loop.
 */
export const STALE_AFTER_MS = 60_000;

/** Lock files this process holds, with their content: our own pid in a lock file means "mine" only when listed here. */
const heldHere = new Map<string, string>();

/** How long a contender waits for another one's take-over or release (a few file operations) before giving up. */
const TAKE_OVER_WAIT_MS = 5_000;
const TAKE_OVER_POLL_MS = 20;

export type LockOptions = {
  /** The clock lock ages are measured with. */
  now?: () => number;
  /** Called when the heartbeat finds the lock file replaced: another process has taken the lock over. */
  onLost?: () => void;
  /** Called between the steps of a take-over; tests run other contenders there. */
  onStep?: (step: "read-stale" | "guard-held") => Promise<void>;
  /** Where processes' starts are read from (Linux's /proc by default). */
  processStart?: ProcessStartReader;
};

/**
 * Takes the exclusive lock on an embedded database directory, or throws DataDirInUseError naming the process that
 * holds it. PGlite is single-process: a second process on the same files loses writes silently.
 *
 * The lock file is made complete under a private name and then hard-linked into place, which fails if a lock
 * exists: two contenders never both succeed, and nobody ever reads a half-written owner. A lock whose process is
 * gone (a crash, SIGKILL) is stale and taken over; so is one that nobody has touched for STALE_AFTER_MS, unless /proc
 * shows its owner still running (see isStale). A lock file is only
 * ever removed by the one process holding the guard file (created with O_EXCL), whether taking over a stale lock or
 * releasing its own, and a taker checks again under the guard that the lock is the stale one it read. Without that,
 * a contender that read the stale lock late could remove the fresh lock of the one that took over first, and a
 * third would start beside it.
 *
 * @example
 *   const lock = await lockDataDir("/srv/servauth/pgdata");
 *   try { ... } finally { await lock.release(); }
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  const now = options.now ?? Date.now;
  const onStep = options.onStep ?? (async () => {});
  const processStart = options.processStart ?? readProcessStart;
  const lockFile = `${dataDir}.lock`;
  const where = displayPath(path.dirname(dataDir));
  const mine: LockOwner = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString("hex"), ...(await processStart(process.pid)) };
  const isStale = (seen: SeenLock) => isStaleLock(lockFile, seen, now(), processStart);
  const content = `${JSON.stringify(mine)}\n`;
  const privateName = (purpose: string) => `${lockFile}.${purpose}-${mine.pid}-${mine.nonce}`;
  const giveUpAt = now() + TAKE_OVER_WAIT_MS;
  const guard: Guard = { file: `${lockFile}.takeover`, content, aside: privateName("guard") };

  while (now() < giveUpAt) {
    if (await linkNew(privateName("new"), content, lockFile)) return hold(lockFile, guard, options.onLost ?? (() => {}));
    const seen = await readLock(lockFile);
    if (seen === null) continue; // released meanwhile
    if (!(await isStale(seen))) throw new DataDirInUseError(where, seen.owner as LockOwner, lockFile);
    await onStep("read-stale");
    const tookOver = await underGuard(guard, now(), async () => {
      await onStep("guard-held");
      const current = await readLock(lockFile);
      // Only guard holders remove a lock file, so the one read here stays until we remove it.
      if (current !== null && current.ino === seen.ino && (await isStale(current))) await unlink(lockFile);
    });
    if (!tookOver) await pause(); // another contender is taking over, or releasing
  }
  throw new Error(`could not lock the embedded database in ${where}: ${lockFile} keeps changing`);
}

/**
 * Keeps the lock alive with a heartbeat until released. A holder whose heartbeat stalled past STALE_AFTER_MS (a
 * suspended VM, a stopped process) may find its lock taken over: the heartbeat then reports it through `onLost`,
 * since from then on another process may be writing the same files.
 */
async function hold(lockFile: string, guard: Guard, onLost: () => void): Promise<DataDirLock> {
  const { content } = guard;
  heldHere.set(lockFile, content);
  const handle = await open(lockFile, "r");
  const { ino } = await handle.stat();
  let lost = false;
  const heartbeat = setInterval(() => {
    const at = new Date();
    // Touching our own inode (not the path) never refreshes a lock that replaced ours.
    handle.utimes(at, at).catch(() => {});
    stat(lockFile).then(
      (current) => current.ino === ino,
      () => false,
    ).then((stillOurs) => {
      if (stillOurs || lost) return;
      lost = true;
      clearInterval(heartbeat);
      onLost();
    });
  }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      await handle.close();
      await release(lockFile, guard);
    },
  };
}

/** Writes `content` under a private name, links it to `target` (atomic, fails if it exists), removes the name. */
async function linkNew(privateFile: string, content: string, target: string): Promise<boolean> {
  await writeFile(privateFile, content, { mode: 0o600 });
  try {
    await link(privateFile, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(privateFile);
  }
}

type Guard = { file: string; content: string; aside: string };

/**
 * Runs `fn` holding the guard file, created with O_EXCL, or returns false at once while another contender holds it.
 * A guard is held for a few file operations; one older than STALE_AFTER_MS was left by a contender killed meanwhile
 * and is removed, after checking (by inode, once renamed to a private name) that it is the old one and not a fresh
 * guard created since.
 */
async function underGuard(guard: Guard, now: number, fn: () => Promise<void>): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(guard.file, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const old = await stat(guard.file).catch(() => null);
    if (old !== null && now - old.mtimeMs > STALE_AFTER_MS) await removeIfSame(guard.file, old.ino, guard.aside);
    return false;
  }
  try {
    await handle.writeFile(guard.content);
    await handle.close();
    await fn();
    return true;
  } finally {
    await unlink(guard.file);
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, TAKE_OVER_POLL_MS));

async function removeIfSame(file: string, ino: number, aside: string): Promise<void> {
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    if ((await stat(aside)).ino !== ino) await link(aside, file).catch(() => {});
  } finally {
    await unlink(aside);
  }
}

/**
 * Removes the lock only if it is still ours (a lock taken over from a process thought dead is not), under the guard:
 * else a contender taking over our lock, thought stale, could remove the fresh lock of one that came after us.
 * A lock left because the guard stayed busy goes stale when this process exits.
 */
async function release(lockFile: string, guard: Guard): Promise<void> {
  if (heldHere.get(lockFile) === guard.content) heldHere.delete(lockFile);
  for (const giveUpAt = Date.now() + TAKE_OVER_WAIT_MS; Date.now() < giveUpAt; await pause()) {
    const released = await underGuard(guard, Date.now(), async () => {
      if ((await readLock(lockFile))?.content === guard.content) await unlink(lockFile);
    });
    if (released) return;
  }
}

type SeenLock = { content: string; owner: LockOwner | null; ino: number; mtimeMs: number };

/** The lock file as one consistent reading (content and inode from the same open file), or null if there is none. */
async function readLock(file: string): Promise<SeenLock | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const [content, stats] = await Promise.all([handle.readFile("utf8"), handle.stat()]);
    return { content, owner: parseOwner(content), ino: stats.ino, mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * null for a file that is not a lock we wrote (edited by hand): it protects nothing, so it is stale. A start that is
 * not whole (one of its two fields) is left out: the lock is then judged as one written without /proc.
 */
function parseOwner(content: string): LockOwner | null {
  try {
    const { pid, host, nonce, startTicks, bootId } = JSON.parse(content) as Partial<LockOwner>;
    if (!Number.isInteger(pid) || (pid as number) <= 0 || typeof host !== "string" || typeof nonce !== "string") return null;
    const started = Number.isSafeInteger(startTicks) && typeof bootId === "string" ? { startTicks, bootId } : {};
    return { pid: pid as number, host, nonce, ...started };
  } catch {
    return null;
  }
}

/**
 * A process on another host cannot be checked from here: its lock is stale once untouched for STALE_AFTER_MS (its
 * holder stopped its heartbeat). On this host a lock whose pid is dead is stale, and so is one with our own pid that
 * this process does not hold (a previous life of this pid: a container restarted with pid 1 again). A live pid may
 * still be another process than the owner (pids are reused, and a container's server is pid 1 after every
 * restart): where the lock records its owner's start, a live pid with that same start in the same boot is the owner,
 * and the lock is held however old its heartbeat (a process suspended with Ctrl-Z keeps its lock), while another
 * start or another boot is a stranger. Without the start (no /proc, or a lock written before it was recorded), the
 * heartbeat decides.
 */
async function isStaleLock(lockFile: string, seen: SeenLock, now: number, processStart: ProcessStartReader): Promise<boolean> {
  const { owner } = seen;
  if (owner === null) return true;
  const untouched = now - seen.mtimeMs > STALE_AFTER_MS;
  if (owner.host !== hostname()) return untouched;
  if (!isAlive(owner.pid)) return true;
  if (owner.pid === process.pid && heldHere.get(lockFile) !== seen.content) return true;
  const running = owner.startTicks === undefined ? null : await processStart(owner.pid);
  if (running === null) return untouched;
  return running.startTicks !== owner.startTicks || running.bootId !== owner.bootId;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `./data` for a directory under the working directory (as DATA_DIR is usually given), else the absolute path. */
function displayPath(directory: string): string {
  const relative = path.relative(process.cwd(), directory);
  if (relative === "") return ".";
  return relative.startsWith("..") || path.isAbsolute(relative) ? directory : `./${relative}`;
}
