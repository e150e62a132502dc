import { readdir, readFile, readlink } from "node:fs/promises";

/**
 * Which process holds the server side of each established TCP connection to `port` on this machine, keyed by the
 * client's port: what `ss -tnp` shows, read from /proc (Linux). It tells which worker process a connection reached
 * without the server exposing anything about its processes.
 */
export async function serverSideOwners(port: number): Promise<Map<number, number>> {
  const inodeToClientPort = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const rows = (await readFile(table, "utf8").catch(() => "")).split("\n").slice(1);
    for (const row of rows) {
      const fields = row.trim().split(/\s+/);
      const [, local, remote, state, , , , , , inode] = fields;
      // State 01 is ESTABLISHED; addresses are HEX_IP:HEX_PORT.
      if (state !== "01" || local === undefined || remote === undefined || inode === undefined) continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) !== port) continue;
      inodeToClientPort.set(inode, Number.parseInt(remote.split(":")[1] ?? "", 16));
    }
  }
  const owners = new Map<number, number>();
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
        const clientPort = inodeToClientPort.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? "");
        if (clientPort !== undefined) owners.set(clientPort, Number(pid));
      }
    }),
  );
  return owners;
}

/** The parent of a process (from /proc/<pid>/stat), or null when it is gone. */
export async function parentOf(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return null;
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** The live children of a process. */
export async function childrenOf(pid: number): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).map(Number);
  const parents = await Promise.all(pids.map(async (candidate) => [candidate, await parentOf(candidate)] as const));
  return parents.filter(([, parent]) => parent === pid).map(([candidate]) => candidate);
}

/** Whether a process still runs: neither gone nor a zombie (dead, its sockets closed, not yet reaped). */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}
