/**
 * What a login costs besides its password hash: POST /auth/login in-process, 16 in flight (as in bench.ts), with a
 * toy argon2id (m=64, t=1) so the hash costs next to nothing, on a scratch PostgreSQL database. Prints the CPU per
 * login of this process (Servauth's own work: HTTP, rate limits, queries, session, JWT, audit) and of the
 * database's server processes. Far steadier on a shared machine than a wrk figure whose argon2 share swings with
 * everyone else's cache use; compare two trees by running it on each. With BENCH_ONLY=pglite, on an in-memory
 * PGlite instead (the database's work is then part of this process's CPU).
 *
 *   bun bench/login-overhead.ts [logins=3000]     (BENCH_PG_URL as in bench.ts)
 */
import { readFileSync } from "node:fs";
import { IN_PROCESS_APP_URL, openInProcessApp } from "./lib/in-process-app.ts";
import { PASSWORD } from "./lib/prepare.ts";
import { type ScratchDatabase, withScratchDatabase } from "./lib/scratch-database.ts";

const LOGINS = Number(process.argv[2] ?? 3000);
const IN_FLIGHT = 16;
const WARMUP = 500;
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** utime + stime of a process (or with `/task/<tid>`, of one of its threads), in clock ticks (USER_HZ = 100). */
function cpuTicks(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return (fields[11] ?? 0) + (fields[12] ?? 0);
}

async function measure(database: ScratchDatabase) {
  const app = await openInProcessApp({ DATABASE_URL: database.url });
  try {
    const account = { email: "login-overhead@example.com", password: PASSWORD };
    const post = (path: string) =>
      app.fetch(new Request(`${IN_PROCESS_APP_URL}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(account) }));
    const registered = await post("/auth/register");
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
    const logins = async (count: number) => {
      let left = count;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (left-- > 0) {
            const response = await post("/auth/login");
            if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
            await response.arrayBuffer();
          }
        }),
      );
    };
    // Past the session cap (10) from here on, so every measured login also evicts one session, as under wrk.
    await logins(WARMUP);
    const backends = await database.backends();
    const databaseBefore = backends.reduce((sum, pid) => sum + cpuTicks(pid), 0);
    // The server's thread alone, apart from the PGlite thread and the argon2 and JIT threads around it.
    const mainThread = `${process.pid}/task/${process.pid}`;
    const mainBefore = cpuTicks(mainThread);
    const before = process.cpuUsage();
    await logins(LOGINS);
    const own = process.cpuUsage(before);
    const mainTicks = cpuTicks(mainThread) - mainBefore;
    const databaseTicks = backends.reduce((sum, pid) => sum + cpuTicks(pid), 0) - databaseBefore;
    const perLogin = (us: number) => `${Math.round(us / LOGINS)} µs`;
    console.log(
      `bun ${Bun.version}; ${LOGINS} logins, ${IN_FLIGHT} in flight, toy argon2: Servauth ${perLogin(own.user + own.system)} CPU/login ` +
        `(its main thread ${perLogin(mainTicks * 10_000)}), ` +
        (backends.length === 0 ? "PGlite in this process (its CPU counted above)" : `PostgreSQL ${perLogin(databaseTicks * 10_000)} CPU/login`),
    );
  } finally {
    await app.close();
  }
}

if (process.env.BENCH_ONLY === "pglite") await measure({ url: "memory://", backends: async () => [] });
else await withScratchDatabase(PG_URL, "login_overhead", measure);
