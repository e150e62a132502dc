import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { createProcessStartReader, readProcessStart } from "../../src/db/process-start.ts";

/** A process's start (what tells a live lock owner from a stranger with a reused pid, src/db/data-dir-lock.ts). */

let procRoot: string;
beforeEach(async () => {
  procRoot = await mkdtemp(path.join(tmpdir(), "servauth-proc-"));
  await mkdir(path.join(procRoot, "sys/kernel/random"), { recursive: true });
  await writeFile(path.join(procRoot, "sys/kernel/random/boot_id"), "6f1c2a9e-0000-4000-8000-000000000001\n");
});
afterEach(async () => {
  await rm(procRoot, { recursive: true, force: true });
});

/** A /proc/<pid>/stat line whose command name is `comm` and whose field 22 (starttime) is `startTicks`. */
function statLine(pid: number, comm: string, startTicks: number): string {
  const fields3to21 = ["S", ...Array.from({ length: 18 }, (_, i) => String(i + 1))];
  return `${pid} (${comm}) ${fields3to21.join(" ")} ${startTicks} 123456 789\n`;
}

test("reads field 22 of /proc/<pid>/stat and this boot's id, counting fields after a command name holding spaces and ')'", async () => {
  await mkdir(path.join(procRoot, "77"));
  await writeFile(path.join(procRoot, "77/stat"), statLine(77, "npm start) (x 1", 987654));
  expect(await createProcessStartReader(procRoot)(77)).toEqual({ startTicks: 987654, bootId: "6f1c2a9e-0000-4000-8000-000000000001" });
});

test("null for a process that is not there, and where there is no /proc (macOS)", async () => {
  expect(await createProcessStartReader(procRoot)(78)).toBeNull();
  expect(await createProcessStartReader(path.join(procRoot, "absent"))(77)).toBeNull();
});

test.runIf(process.platform === "linux")("on Linux, this process's start is the same at every reading, and its parent started no later", async () => {
  const mine = await readProcessStart(process.pid);
  expect(mine?.startTicks).toBeGreaterThan(0);
  expect(await readProcessStart(process.pid)).toEqual(mine);
  expect((await readProcessStart(process.ppid))?.startTicks).toBeLessThanOrEqual(mine?.startTicks ?? 0);
});
