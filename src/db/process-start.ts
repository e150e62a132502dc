import { readFile } from "node:fs/promises";
import path from "node:path";

/**
 * When a process started, which no later process with the same pid shares: its start time in clock ticks since boot
 * (field 22 of /proc/<pid>/stat) within one boot (/proc/sys/kernel/random/boot_id, new at every boot).
 */
export type ProcessStart = { startTicks: number; bootId: string };

/** A process's start, or null where it cannot be read: no /proc (macOS), or the process is gone. */
export type ProcessStartReader = (pid: number) => Promise<ProcessStart | null>;

/**
 * Reads a process's start from Linux's /proc (`procRoot` for tests).
 *
 * @example
 *   const mine = await readProcessStart(process.pid); // { startTicks: 1234567, bootId: "3f0c…" } on Linux, null on macOS
 */
export function createProcessStartReader(procRoot = "/proc"): ProcessStartReader {
  return async (pid) => {
    try {
      const [stat, bootId] = await Promise.all([
        readFile(path.join(procRoot, String(pid), "stat"), "utf8"),
        readFile(path.join(procRoot, "sys/kernel/random/boot_id"), "utf8"),
      ]);
      const startTicks = startTicksOf(stat);
      return startTicks === null ? null : { startTicks, bootId: bootId.trim() };
    } catch {
      return null;
    }
  };
}

export const readProcessStart = createProcessStartReader();

/**
 * Field 22 of a /proc/<pid>/stat line. Field 2, the command name in parentheses, may itself hold spaces and ")",
 * so fields are counted from the last ")": the one after it is field 3.
 */
function startTicksOf(stat: string): number | null {
  const fields = stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\s+/);
  const value = Number(fields[22 - 3]);
  return Number.isSafeInteger(value) ? value : null;
}
