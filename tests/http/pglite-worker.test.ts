import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { isDatabaseUnavailable, uniqueViolationConstraint } from "../../src/db/errors.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { type PgliteWorker, PgliteWorkerExitedError, startPgliteWorker } from "../../src/db/pglite-worker.ts";
import { users } from "../../src/db/tables/users.ts";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * The embedded database as the server runs it, in a worker thread (issue #22): the server's thread stays free
 * while PostgreSQL works, and the database behaves as it does on the server's thread (errors, transactions), down to
 * a thread that dies, which fails its queries at once as an unavailable database.
 */

/** The PgliteWorker under the app's drizzle instance (drizzle keeps its client as `$client`). */
const workerOf = (t: TestApp) => (t.db as unknown as { $client: PgliteWorker }).$client;

/** The longest time between two turns of this thread's event loop while `work` runs, and how long `work` took. */
async function loopStallDuring(work: () => Promise<unknown>): Promise<{ longestStallMs: number; workMs: number }> {
  let longestStallMs = 0;
  let last = performance.now();
  const turn = () => {
    const now = performance.now();
    longestStallMs = Math.max(longestStallMs, now - last);
    last = now;
  };
  const ticker = setInterval(turn, 5);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(ticker);
  }
  // A loop blocked for the whole of `work` never ticked at all: the stall is the time since the last turn.
  turn();
  return { longestStallMs, workMs: performance.now() - started };
}

/** The nice value of one of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
const niceOf = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
/** A worker over the migrated snapshot: seconds of initdb fewer than an empty database. */
const snapshotWorker = { dataDir: null, snapshotPath: inject("pgliteSnapshotPath") } as const;
const threadsAtNice = (nice: number) => readdirSync("/proc/self/task").filter((tid) => niceOf(tid) === nice).length;

describe("the embedded database in a worker thread", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({}, { database: "pglite-worker" });
  });
  afterEach(async () => {
    await t.close();
  });

  it("keeps the server's event loop turning while a long query runs", async () => {
    const { longestStallMs, workMs } = await loopStallDuring(() => t.db.execute(sql`select count(*) from generate_series(1, 3000000)`));
    expect(workMs).toBeGreaterThan(300);
    // On the server's thread the loop would stall for the whole query; a loaded machine may delay a tick a little.
    expect(longestStallMs).toBeLessThan(150);
  });

  it.runIf(process.platform === "linux")("runs below the server's thread's priority, so a busy database cannot delay the event loop's turn", async () => {
    const before = threadsAtNice(10);
    const pg = await startPgliteWorker(snapshotWorker);
    try {
      expect(threadsAtNice(10)).toBe(before + 1);
      expect(niceOf(String(process.pid))).toBe(0);
    } finally {
      await pg.close();
    }
    // Gone once its OS thread is joined, a moment after close() resolves.
    await vi.waitFor(() => expect(threadsAtNice(10)).toBe(before));
  });

  it("keeps PostgreSQL's error fields, so a duplicate is a unique violation with its constraint", async () => {
    const { user } = await registerUser(t);
    const duplicate = await t.db
      .insert(users)
      .values({ id: crypto.randomUUID(), name: "again", email: user.email })
      .catch((error: unknown) => error);
    expect(uniqueViolationConstraint(duplicate)).toBe("users_email_unique");
  });

  it("rolls a transaction back when its callback throws, savepoints included", async () => {
    const { user } = await registerUser(t);
    const nameOf = async () => (await t.db.select({ name: users.name }).from(users).where(eq(users.id, user.id)))[0]?.name;
    const before = await nameOf();
    const failed = await t.db
      .transaction(async (tx) => {
        await tx.update(users).set({ name: "renamed" }).where(eq(users.id, user.id));
        await tx.transaction(async (nested) => {
          await nested.update(users).set({ name: "renamed twice" }).where(eq(users.id, user.id));
        });
        throw new Error("changed my mind");
      })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ message: "changed my mind" });
    expect(await nameOf()).toBe(before);
  });

  it("refuses a query option it cannot carry to the thread, instead of dropping it", async () => {
    const shout = (value: string) => value.toUpperCase();
    await expect(workerOf(t).query("select 'a'::text as a", [], { parsers: { 25: shout } })).rejects.toThrow(/identity parsers/);
  });

  it("fails pending and later queries at once when the thread dies, and the server answers 503", async () => {
    const pending = t.db.execute(sql`select pg_sleep(5)`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const killedAt = performance.now();
    await workerOf(t).terminate();
    const error = await pending;
    expect(performance.now() - killedAt).toBeLessThan(1_000);
    expect(isDatabaseUnavailable(error)).toBe(true);

    for (const response of [await t.request("GET", "/ready"), await t.request("POST", "/auth/login", { email: "a@example.com", password: "whatever1" })]) {
      expect(response.status).toBe(503);
      expect((await response.json()).code).toBe("DEPENDENCY_UNAVAILABLE");
    }
  });
});

describe("the embedded database's thread ending", () => {
  it("is told to its owner when the thread ends without close() (the server then stops), and not after close()", async () => {
    const exits: unknown[] = [];
    const onUnexpectedExit = (error: PgliteWorkerExitedError) => exits.push(error);
    const closed = await startPgliteWorker(snapshotWorker, { onUnexpectedExit });
    await closed.close();
    const crashed = await startPgliteWorker(snapshotWorker, { onUnexpectedExit });
    await crashed.terminate();
    await vi.waitFor(() => expect(exits).toHaveLength(1));
    expect(exits[0]).toBeInstanceOf(PgliteWorkerExitedError);
  });
});

describe("the embedded database in a worker thread, on disk", () => {
  it("migrates a new data directory and keeps what was written across a restart", async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), "servauth-pglite-worker-")), "pgdata");
    const config = { kind: "pglite", dataDir, thread: "worker" } as const;
    try {
      const first = await createDb(config);
      await migrateDatabase(first);
      await first.db.insert(users).values({ email: "kept@example.com" });
      await first.close();

      const second = await createDb(config);
      try {
        await migrateDatabase(second);
        const rows = await second.db.select({ email: users.email }).from(users);
        expect(rows).toEqual([{ email: "kept@example.com" }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(path.dirname(dataDir), { recursive: true, force: true });
    }
    // initdb and every migration under WebAssembly, then a second start: seconds on a loaded 2-core machine.
  }, 60_000);
});
