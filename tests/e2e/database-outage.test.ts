import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { type Outcome, registerAccount, startTraffic, type Traffic } from "../support/traffic.ts";

/**
 * PostgreSQL goes away while requests flow, on a real server process: its connections killed with
 * pg_terminate_backend, then a whole outage (the server reaches PostgreSQL through a TCP proxy the test takes down, as
 * a restart would: connections dropped, new ones refused). Requests meanwhile answer 503 DEPENDENCY_UNAVAILABLE with
 * Retry-After, never 500 and never later than a bound; /ready answers 503; once PostgreSQL is back the server
 * recovers by itself within 5 s, and the tables hold no half-written user or session.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL;
/** The server gives up on PostgreSQL after these (kept small so the test is short). */
const CONNECT_TIMEOUT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_000;
/** Past this the server answers 503 whatever it waits for. */
const DEADLINE_MS = 3_000;
/** No request may take longer than this, outage or not. */
const BOUND_MS = 5_000;
const RECOVERY_LIMIT_MS = 5_000;
const SETTLE_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readiness(server: SpawnedServer): Promise<{ status: number; retryAfter: string | null }> {
  const response = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(BOUND_MS) });
  await response.body?.cancel();
  return { status: response.status, retryAfter: response.headers.get("retry-after") };
}

/** Milliseconds until /ready answers 200; fails past `limitMs`. */
async function untilReady(server: SpawnedServer, limitMs: number): Promise<number> {
  const since = performance.now();
  while ((await readiness(server)).status !== 200) {
    if (performance.now() - since > limitMs) throw new Error(`not ready ${limitMs} ms after PostgreSQL was back`);
    await sleep(50);
  }
  return performance.now() - since;
}

/** How many outcomes of each kind, for failure messages. */
function summary(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = `${o.phase} ${o.operation} ${o.status} ${o.code ?? ""}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

/**
 * Once /ready answers, the other pooled connections may still meet their dead predecessors once: failures stay
 * allowed for SETTLE_MS more, still inside the 5 s recovery target; from then on every request must succeed.
 */
async function settle(traffic: Traffic, recoveredMs: number) {
  expect(recoveredMs + SETTLE_MS).toBeLessThan(RECOVERY_LIMIT_MS);
  await sleep(SETTLE_MS);
  traffic.setPhase("after");
  // Long enough for requests sent from now on to be answered, even if the deadline has to answer them.
  await sleep(DEADLINE_MS + 1_000);
}

async function accounts(server: SpawnedServer) {
  return { reader: await registerAccount(server.url), login: await registerAccount(server.url) };
}

/** Before and after the outage everything succeeds; during it, a success or a 503 DEPENDENCY_UNAVAILABLE with Retry-After. */
function expectOnlyCleanFailures(outcomes: Outcome[]) {
  const ok = (o: Outcome) => o.status >= 200 && o.status < 300;
  const cleanFailure = (o: Outcome) => o.status === 503 && o.code === "DEPENDENCY_UNAVAILABLE" && o.retryAfter !== null;
  // Logins evicting a session used to wait here until the deadline: they waited for the revocation bus, whose
  // connection retried with a backoff grown to many seconds during the outage (fixed: fast reconnects, and a
  // bounded wait for the broadcast).
  expect(outcomes.filter((o) => o.phase !== "outage" && !ok(o)), summary(outcomes)).toEqual([]);
  expect(outcomes.filter((o) => o.phase === "outage" && !ok(o) && !cleanFailure(o)), summary(outcomes)).toEqual([]);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(BOUND_MS);
}

describe.each<Runtime>(e2eRuntimes())("PostgreSQL outages under load, on %s", (runtime) => {
  let database: ScratchDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let server: SpawnedServer | undefined;
  const running = () => {
    if (database === undefined || proxy === undefined || server === undefined) throw new Error("the server did not start");
    return { database, proxy, server };
  };

  // A server and database per test: the "before" phase of one test must not meet what the outage of the previous
  // one left behind (CI once saw two 503s at the very start of the second test, with nothing logged to say why).
  beforeEach(async (context) => {
    if (ADMIN_URL === undefined) return;
    database = await createScratchDatabase(ADMIN_URL);
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    server = await spawnServer({
      runtime,
      databaseUrl: viaProxy.toString(),
      env: {
        AUTH_SECRET: randomBytes(32).toString("base64url"),
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        REQUEST_DEADLINE_MS: String(DEADLINE_MS),
        REVOCATION_HEARTBEAT_MS: "200",
        // Errors only: a failure prints the server's output, which then says why a request answered 503.
        LOG_LEVEL: "error",
      },
    });
    const spawned = server;
    context.onTestFailed(() => console.error(`----- ${runtime} server output -----\n${spawned.output()}`));
  });

  afterEach(async () => {
    await server?.stop();
    await proxy?.close();
    await database?.drop();
    server = proxy = database = undefined;
  });

  test.skipIf(ADMIN_URL === undefined)("its connections killed three times (pg_terminate_backend): clean 503s at worst, then it carries on", async () => {
    const { database, server } = running();
    const traffic = startTraffic(server.url, await accounts(server), { loops: 4, boundMs: BOUND_MS });
    await sleep(500);
    traffic.setPhase("outage");
    for (let round = 0; round < 3; round++) {
      await database.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = ${database.name} and pid <> pg_backend_pid()`;
      await sleep(300);
    }
    const recoveredMs = await untilReady(server, RECOVERY_LIMIT_MS);
    await settle(traffic, recoveredMs);
    const outcomes = await traffic.stop();
    expectOnlyCleanFailures(outcomes);
    expect(outcomes.filter((o) => o.phase === "after").length).toBeGreaterThan(0);
  });

  test.skipIf(ADMIN_URL === undefined)("unreachable for 3 s: 503 with Retry-After, /ready 503, ready again within 5 s, nothing half-written", async () => {
    const { database, proxy, server } = running();
    const traffic = startTraffic(server.url, await accounts(server), { loops: 4, boundMs: BOUND_MS });
    await sleep(500);
    traffic.setPhase("outage");
    await proxy.down();
    await sleep(1_000);
    const ready = await readiness(server);
    await sleep(2_000);
    await proxy.up();
    const recoveredMs = await untilReady(server, RECOVERY_LIMIT_MS);
    await settle(traffic, recoveredMs);
    const outcomes = await traffic.stop();

    expect(ready.status).toBe(503);
    expect(ready.retryAfter).not.toBeNull();
    expectOnlyCleanFailures(outcomes);
    const duringOutage = outcomes.filter((o) => o.phase === "outage");
    expect(duringOutage.filter((o) => o.status === 503).length, summary(outcomes)).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.phase === "after").length, summary(outcomes)).toBeGreaterThan(0);

    // Every registration the server confirmed is there, with its session; no user lacks its password account, no
    // session lacks its refresh token (each is written in one transaction).
    const confirmed = outcomes.flatMap((o) => (o.created === undefined ? [] : [o.created]));
    const userIds = confirmed.map((c) => c.userId);
    const sessionIds = confirmed.map((c) => c.sessionId);
    const [stored] = await database.sql<[{ users: number; sessions: number }]>`
      select (select count(*)::int from users where id = any(${userIds}::uuid[])) as users,
             (select count(*)::int from sessions where id = any(${sessionIds}::uuid[])) as sessions`;
    expect(stored).toEqual({ users: confirmed.length, sessions: confirmed.length });
    const [halfWritten] = await database.sql<[{ users: number; sessions: number }]>`
      select (select count(*)::int from users u
              where not exists (select 1 from accounts a where a.user_id = u.id and a.provider_id = 'credential')) as users,
             (select count(*)::int from sessions s
              where not exists (select 1 from refresh_tokens r where r.session_id = s.id)) as sessions`;
    expect(halfWritten).toEqual({ users: 0, sessions: 0 });
  });
});
