import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type HttpConnection, openConnection } from "../support/http-connection.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { isRunning, parentOf, serverSideOwners } from "../support/socket-owners.ts";
import { e2eRuntimes, type Runtime, runCli, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * WORKERS=2: one supervisor and two server processes on one port (Bun: SO_REUSEPORT; Node: node:cluster). Which
 * process answered a connection is read from the operating system (the owner of the server side of the socket),
 * so the server exposes nothing about its processes.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL;
const PASSWORD = "correct horse battery staple";
/** With SO_REUSEPORT the kernel picks a worker per connection by hash: 16 all on one worker is a 1-in-32768 event. */
const CONNECTIONS = 16;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.each<Runtime>(e2eRuntimes())("WORKERS on %s", (runtime) => {
  test("refuses WORKERS=2 on the embedded database with one line, exit code 1", async () => {
    const result = await runCli(runtime, ["serve"], { WORKERS: "2", DATABASE_URL: "memory://" });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "servauth: invalid configuration: WORKERS: the embedded database (PGlite) is single-process; more than one worker needs DATABASE_URL=postgres://...\n",
    );
  });

  describe.skipIf(ADMIN_URL === undefined)("two workers on PostgreSQL", () => {
    let database: ScratchDatabase | undefined;
    let server: SpawnedServer | undefined;
    const open: HttpConnection[] = [];
    const running = () => {
      if (server === undefined || database === undefined) throw new Error("the server did not start");
      return { server, database };
    };

    beforeAll(async () => {
      database = await createScratchDatabase(ADMIN_URL ?? "");
      server = await spawnServer({
        runtime,
        databaseUrl: database.url,
        env: { WORKERS: "2", LOG_LEVEL: "info", AUTH_SECRET: randomBytes(32).toString("base64url"), REVOCATION_HEARTBEAT_MS: "200" },
      });
      // /health answers once the first worker listens; the supervisor prints its line when both do.
      for (const since = Date.now(); !server.output().includes("listening on"); await sleep(50)) {
        if (Date.now() - since > 30_000) throw new Error(`no start-up line; output:\n${server.output()}`);
      }
    });

    afterAll(async () => {
      for (const connection of open) connection.close();
      await server?.stop();
      await database?.drop();
    });

    /** `count` fresh connections, each with one request answered, grouped by the process that holds its server side. */
    async function connectionsByWorker(count: number): Promise<Map<number, HttpConnection[]>> {
      const { server } = running();
      const connections = await Promise.all(Array.from({ length: count }, () => openConnection(server.port)));
      open.push(...connections);
      for (const connection of connections) expect((await connection.request("GET", "/health")).status).toBe(200);
      const owners = await serverSideOwners(server.port);
      const byWorker = new Map<number, HttpConnection[]>();
      for (const connection of connections) {
        const pid = owners.get(connection.localPort);
        if (pid === undefined) throw new Error(`no process holds the server side of client port ${connection.localPort}`);
        byWorker.set(pid, [...(byWorker.get(pid) ?? []), connection]);
      }
      return byWorker;
    }

    test("prints one start-up line naming the workers; connections reach two processes, children of one supervisor", async () => {
      const { server } = running();
      const lines = server.output().split("\n").filter((line) => line.includes("listening on"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`listening on ${server.url} (${runtime} `);
      expect(lines[0]).toContain(", 2 workers)");

      const workers = [...(await connectionsByWorker(CONNECTIONS)).keys()];
      expect(workers).toHaveLength(2);
      const parents = await Promise.all(workers.map((pid) => parentOf(pid)));
      expect(new Set(parents).size).toBe(1);
    });

    test("a logout on one worker is enforced by the other within 1 s, although that one answers from its cache", async () => {
      const { database } = running();
      const byWorker = [...(await connectionsByWorker(CONNECTIONS)).values()];
      const [one, other] = [byWorker[0]?.[0], byWorker[1]?.[0]];
      if (one === undefined || other === undefined) throw new Error("the connections did not reach two workers");

      const register = async () => {
        const email = `workers-${runtime}-${randomBytes(4).toString("hex")}@example.com`;
        const response = await one.request("POST", "/auth/register", { body: { email, password: PASSWORD } });
        expect(response.status, response.body).toBe(201);
        const { accessToken } = JSON.parse(response.body) as { accessToken: string };
        const sid = (JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as { sid: string }).sid;
        return { headers: { authorization: `Bearer ${accessToken}` }, sid };
      };
      const me = async (session: { headers: Record<string, string> }) => (await other.request("GET", "/auth/me", session)).status;

      // The other worker caches sessions: one deleted behind its back is still served, so the 401 below comes
      // from the revocation bus, not from a database read it makes anyway.
      const cached = await register();
      expect(await me(cached)).toBe(200);
      await database.sql`delete from sessions where id = ${cached.sid}`;
      expect(await me(cached)).toBe(200);

      const session = await register();
      expect(await me(session)).toBe(200);
      expect((await one.request("POST", "/auth/logout", session)).status).toBe(204);
      const since = Date.now();
      while ((await me(session)) !== 401) {
        expect(Date.now() - since).toBeLessThan(1_000);
        await sleep(10);
      }
    });

    test("/metrics, whichever worker answers it, reports the requests both workers answered", async () => {
      const byWorker = [...(await connectionsByWorker(CONNECTIONS)).values()];
      const [one, other] = [byWorker[0]?.[0], byWorker[1]?.[0]];
      if (one === undefined || other === undefined) throw new Error("the connections did not reach two workers");
      const labels = '{method="GET",route="/auth/me",status="401"}';
      const unauthenticatedMe = `servauth_http_requests_total${labels}`;
      const scrape = async (connection: HttpConnection) => {
        const response = await connection.request("GET", "/metrics");
        expect(response.status, response.body).toBe(200);
        return (name: string) => {
          const line = response.body.split("\n").find((candidate) => candidate.startsWith(`${name} `));
          return line === undefined ? undefined : Number(line.split(" ")[1]);
        };
      };

      const before = (await scrape(one))(unauthenticatedMe) ?? 0;
      for (const [connection, count] of [[one, 3], [other, 5]] as const) {
        for (let i = 0; i < count; i++) expect((await connection.request("GET", "/auth/me")).status).toBe(401);
      }
      for (const connection of [one, other]) {
        const value = await scrape(connection);
        expect(value(unauthenticatedMe)).toBe(before + 8);
        expect(value(`servauth_http_request_duration_seconds_count${labels}`)).toBe(before + 8);
        expect(value("servauth_workers_reporting")).toBe(2);
        // Gauges: the database ceiling adds up over the processes; the start time of "the" process is left out.
        expect(value("servauth_db_pool_max_connections")).toBe(20);
        expect(value("process_start_time_seconds")).toBeUndefined();
      }
    });

    test("a worker killed outright is replaced; the port keeps serving meanwhile", async () => {
      const { server } = running();
      const before = [...(await connectionsByWorker(CONNECTIONS)).keys()];
      const [victim] = before;
      if (victim === undefined) throw new Error("no worker found");
      process.kill(victim, "SIGKILL");
      // Connections handed to the victim in its last moment are lost with it (Bun: reset by the kernel; Node: the
      // primary's hand-off never completes, so they hang until the client gives up). None after the supervisor
      // has seen the death, which it logs.
      const death = /worker \d exited \(code null, signal SIGKILL\); restarting it/;
      const since = Date.now();
      while (!death.test(server.output())) {
        expect(Date.now() - since, server.output()).toBeLessThan(5_000);
        await sleep(10);
      }
      for (;;) {
        // From then on every new connection is answered: the kernel (Bun) or the primary (Node) hands them to the
        // surviving worker until the replacement listens.
        const workers = [...(await connectionsByWorker(CONNECTIONS)).keys()];
        if (workers.length === 2 && !workers.includes(victim)) break;
        expect(Date.now() - since, server.output()).toBeLessThan(20_000);
        await sleep(200);
      }
    });

    // Node: KNOWN LIMITATION (docs/deployment.md). node:cluster's round robin has the primary accept a connection,
    // send it to a free worker and close its own copy only when the worker acknowledges; a worker that dies first
    // never does, nothing in node:cluster's API reaches that copy, and its client waits until it gives up (at most
    // one such connection per death: a worker gets its next one only after acknowledging). SCHED_NONE (workers
    // accept from one shared socket) passes this test but concentrates connections on one worker (all 16 of a burst
    // in one of two runs here), so it is not used. The day Node fixes the hand-off this starts passing.
    const deadWorkerTest = runtime === "node" ? test.fails : test;
    deadWorkerTest("connections handed to a worker that dies before answering them are closed, not left hanging", async () => {
      const { server } = running();
      const [victim] = [...(await connectionsByWorker(CONNECTIONS)).keys()];
      if (victim === undefined) throw new Error("no worker found");
      const restarts = () => server.output().match(/worker \d restarted/g)?.length ?? 0;
      const restartsBefore = restarts();
      // A stopped worker takes its share of new connections (Bun: the kernel queues them on its socket; Node: the
      // primary hands it one and waits for its acknowledgement) and answers none: a worker stuck, then killed.
      process.kill(victim, "SIGSTOP");
      let killed = false;
      try {
        const fresh = await Promise.all(Array.from({ length: CONNECTIONS }, () => openConnection(server.port)));
        open.push(...fresh);
        const outcomes = fresh.map((connection) =>
          connection.request("GET", "/health").then(
            (response) => String(response.status),
            () => "closed",
          ),
        );
        const within = (ms: number) => Promise.all(outcomes.map((outcome) => Promise.race([outcome, sleep(ms).then(() => "waiting")])));
        const stuck = (await within(1_000)).filter((outcome) => outcome === "waiting").length;
        expect(stuck, "no connection reached the stopped worker").toBeGreaterThan(0);
        process.kill(victim, "SIGKILL");
        killed = true;
        const after = await within(5_000);
        expect(after.filter((outcome) => outcome === "waiting"), after.join(" ")).toEqual([]);
      } finally {
        if (!killed) process.kill(victim, "SIGKILL");
        // The next test starts with two workers again.
        for (const since = Date.now(); restarts() === restartsBefore; await sleep(50)) {
          if (Date.now() - since > 10_000) throw new Error(`the worker was not restarted:\n${server.output()}`);
        }
      }
    });

    test("SIGTERM stops every worker and the supervisor, which exits 0", async () => {
      const { server } = running();
      const workers = [...(await connectionsByWorker(CONNECTIONS)).keys()];
      for (const connection of open.splice(0)) connection.close();
      expect(await server.stop("SIGTERM"), server.output()).toBe(0);
      expect((await Promise.all(workers.map(isRunning))).some(Boolean)).toBe(false);
    });
  });
});
