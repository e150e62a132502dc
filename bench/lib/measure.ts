import { cpuSecondsOf, foreignCores, loadAverage, sampleCpu } from "./cpu.ts";
import { fmtCores, fmtCpu, fmtMs, fmtRate } from "./report.ts";
import { okPerSecond, runWrk, type WrkResult, type WrkRun } from "./wrk.ts";

export const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** The live processes working for one measurement: the server first, then its PostgreSQL backends. */
export type OwnPids = () => Promise<number[]>;

export type Measured = WrkResult & { foreign: number; load: string; serverCpuUs: number; databaseCpuUs: number };

/**
 * Runs wrk and records, besides wrk's figures: the CPU other people's processes used meanwhile, and the CPU
 * time per request of the server process (ownPids()[0]) and of its PostgreSQL backends (the rest): figures that
 * shared-machine noise disturbs far less than requests/s. Logs a line and stores the figures in `raw[name]`.
 */
export async function measure(name: string, run: WrkRun, ownPids: OwnPids, raw: Record<string, unknown>): Promise<Measured> {
  const load = loadAverage();
  const pidsBefore = await ownPids();
  const before = sampleCpu(pidsBefore);
  const result = await runWrk(run);
  const pidsAfter = await ownPids();
  const after = sampleCpu([...new Set([...pidsBefore, ...pidsAfter])]);
  const foreign = foreignCores(before, after);
  const [serverPid, ...backendPids] = pidsAfter;
  const perRequest = (seconds: number) => (result.requests > 0 ? (seconds * 1e6) / result.requests : 0);
  const serverCpuUs = perRequest(cpuSecondsOf(before, after, serverPid === undefined ? [] : [serverPid]));
  const databaseCpuUs = perRequest(cpuSecondsOf(before, after, backendPids));
  const okRate = okPerSecond(result);
  log(
    `${name}: ${fmtRate(okRate)} p99 ${fmtMs(result.p99Us)} (errors: ${result.non2xx3xx} >=400, ${result.timeouts} timeouts, ` +
      `${result.readErrors + result.writeErrors + result.connectErrors} socket; server CPU ${fmtCpu(serverCpuUs, databaseCpuUs)}; ` +
      `other CPU ${fmtCores(foreign)}; load ${load})`,
  );
  raw[name] = { ...result, okPerSecond: okRate, serverCpuUsPerRequest: serverCpuUs, databaseCpuUsPerRequest: databaseCpuUs, foreignCores: foreign, loadAverage: load, threads: run.threads, connections: run.connections, seconds: run.seconds };
  return { ...result, foreign, load, serverCpuUs, databaseCpuUs };
}
