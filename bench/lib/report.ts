/** The results table: each figure, its baseline, the ratio, the target and whether it is met. */

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
