/** The results table: each figure, its baseline, the ratio, the target and whether it is met. */
import { cpus } from "node:os";
import { ROOT } from "./server.ts";
import type { WrkResult } from "./wrk.ts";

export type Row = {
  figure: string;
  value: string;
  p99?: string;
  baseline?: string;
  ratio?: string;
  target?: string;
  /** true met, false missed, undefined: no target (reported only). */
  met?: boolean;
  /** CPU time per request: the server process (+ its PostgreSQL backends). */
  cpu?: string;
  /** Average cores used by other people's processes during the measurement. */
  foreign: string;
  note?: string;
};

const HEAD = ["figure", "result", "p99", "baseline", "ratio", "target", "verdict", "CPU/request", "other CPU", "note"];

export function markdownTable(rows: Row[]): string {
  const lines = [`| ${HEAD.join(" | ")} |`, `|${HEAD.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const verdict = r.met === undefined ? "-" : r.met ? "met" : "**MISSED**";
    const cells = [r.figure, r.value, r.p99 ?? "-", r.baseline ?? "-", r.ratio ?? "-", r.target ?? "-", verdict, r.cpu ?? "-", r.foreign, r.note ?? ""];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export const fmtRate = (n: number) => `${n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)} req/s`;
export const fmtMs = (us: number) => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
export const fmtRatio = (n: number) => n.toFixed(2);
export const fmtCores = (n: number) => `${n.toFixed(2)} cores`;

/** CPU time per request of the server, and of its PostgreSQL backends when they did any work. */
export function fmtCpu(serverUs: number, databaseUs: number): string {
  const show = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);
  return databaseUs > 0 ? `${show(serverUs)} + PG ${show(databaseUs)}` : show(serverUs);
}

/** What went wrong during a wrk run, for the note column; undefined when nothing did. */
export function errorsNote(r: WrkResult): string | undefined {
  const socket = r.readErrors + r.writeErrors + r.connectErrors;
  const parts = [
    r.non2xx3xx ? `${r.non2xx3xx} answers >= 400` : "",
    r.timeouts ? `${r.timeouts} timeouts` : "",
    socket ? `${socket} socket errors` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : undefined;
}

/** Which code was measured: the commit, and whether the work tree differed from it (read-only git). */
export function describeTree(): string {
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: ROOT }).stdout.toString().trim();
  const head = git("rev-parse", "--short", "HEAD") || "unknown commit";
  const changed = git("status", "--porcelain", "--untracked-files=no", "--", "src").split("\n").filter(Boolean).length;
  return changed === 0 ? `commit ${head}, src/ unmodified` : `commit ${head} + ${changed} uncommitted change(s) in src/`;
}

/** The header's first lines: runtime and machine, source, load and what "other CPU" means. */
export function runHeader(title: string, loadAtStart: string, loadAtEnd: string): string[] {
  return [
    `${title}: bun ${Bun.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), wrk over loopback sharing the cores with the server.`,
    `Source: ${describeTree()}.`,
    `Load average at start: ${loadAtStart}; at end: ${loadAtEnd}. "other CPU" = cores used by processes not started by this run during each measurement (> 0.2 means the figure is disturbed).`,
  ];
}
