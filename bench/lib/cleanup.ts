import { rmSync } from "node:fs";
import { liveServers } from "./server.ts";
import { liveWrk, scriptDir } from "./wrk.ts";

/** What a benchmark run has to undo (temporary directories, scratch databases, servers), run in reverse order. */
export const cleanups: Array<() => Promise<void> | void> = [];

/** Kills every wrk and server still running, then runs the cleanups; never throws. */
export async function cleanUp() {
  for (const child of liveWrk) child.kill("SIGKILL");
  for (const step of cleanups.reverse()) await Promise.resolve(step()).catch(() => {});
  cleanups.length = 0;
  for (const child of liveServers) child.kill("SIGKILL");
  rmSync(scriptDir, { recursive: true, force: true });
}

/** On SIGINT or SIGTERM: clean up, then exit 130. */
export function cleanUpOnSignals() {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      void cleanUp().finally(() => process.exit(130));
    });
  }
}
