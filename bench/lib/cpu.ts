import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU used by other people's work while we measure. The machine is shared (other developers' test runs), so each
 * measurement records: busy CPU of the whole machine (/proc/stat) minus the CPU of our own processes (this
 * orchestrator and its reaped children such as wrk, plus the live servers), as an average number of cores.
 */
export type CpuSample = { at: number; machineBusy: number; self: number; perPid: Map<number, number> };

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function machineBusyTicks(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

function processTicks(pid: number, withReapedChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name "(...)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = rest.slice(11, 15);
    return utime + stime + (withReapedChildren ? cutime + cstime : 0);
  } catch {
    return 0;
  }
}

/** `ownPids`: live processes working for us (servers, their PostgreSQL backends); reaped children count via self. */
export function sampleCpu(ownPids: number[]): CpuSample {
  const perPid = new Map(ownPids.map((pid) => [pid, processTicks(pid, false)]));
  return { at: performance.now(), machineBusy: machineBusyTicks(), self: processTicks(process.pid, true), perPid };
}

/**
 * Average cores used by work that is not ours between two samples (never below 0). A process present only in
 * `to` started meanwhile and counts from 0; one present only in `from` is ignored.
 */
export function foreignCores(from: CpuSample, to: CpuSample): number {
  const seconds = (to.at - from.at) / 1000;
  if (seconds <= 0) return 0;
  let ours = to.self - from.self;
  for (const [pid, ticks] of to.perPid) ours += ticks - (from.perPid.get(pid) ?? 0);
  const foreign = (to.machineBusy - from.machineBusy - ours) / TICKS_PER_SECOND;
  return Math.max(foreign / seconds, 0);
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** CPU seconds used between two samples by the given processes (present in both samples). */
export function cpuSecondsOf(from: CpuSample, to: CpuSample, pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += (to.perPid.get(pid) ?? 0) - (from.perPid.get(pid) ?? 0);
  return ticks / TICKS_PER_SECOND;
}

/** A process and all its descendants (a WORKERS supervisor and its workers), from /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}
