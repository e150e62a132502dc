import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type DatabaseHandle } from "../../src/db/client.ts";

/**
 * Every pooled connection comes back after PostgreSQL ends it, and no query is left waiting. postgres.js 3.4.9, as
 * published, fails this two ways (CI saw both as logins failing after the database was back): it cancels a buffered
 * write's timer when the socket closes but keeps the handle, so the reused connection never sends its start-up
 * message and every reconnection ends in CONNECT_TIMEOUT; and queries pipelined onto a connection between its reset
 * and its close are never rejected, so they wait forever (their loop below never ends, and the test times out).
 * A third shows on a transaction: what its callback runs after the connection closed ran on that connection once the
 * pool had reconnected it, outside the transaction, each statement committing on its own (CI's full PostgreSQL tier
 * caught it). Our patch (patches/, src/db/postgres-patch.ts) fixes all three. The kill lands while queries flow,
 * the way a failover or an operator's pg_terminate_backend does.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? "";
const name = `servauth_recovery_${randomBytes(6).toString("hex")}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const CONNECT_TIMEOUT_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
let admin: postgres.Sql;
let handle: DatabaseHandle;

beforeAll(async () => {
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  handle = await createDb({ kind: "postgres", url, connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: 5_000 });
});
afterAll(async () => {
  await handle.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

it("reconnects every pooled connection after PostgreSQL terminates them mid-traffic", async () => {
  let phase: "kill" | "after" | "done" = "kill";
  const afterFailures: string[] = [];
  let afterSuccesses = 0;
  // More loops than pool slots, so every connection is busy, with writes buffered, when the kill lands.
  const loops = Array.from({ length: handle.maxConnections + 2 }, async () => {
    while (phase !== "done") {
      const during = phase;
      try {
        await handle.db.execute(sql`select pg_sleep(0.005)`);
        if (during === "after") afterSuccesses++;
      } catch (error) {
        if (during === "after") afterFailures.push((error as { cause?: { code?: string } }).cause?.code ?? String(error));
      }
    }
  });
  await sleep(300);
  for (let round = 0; round < 3; round++) {
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
    await sleep(300);
  }
  // A killed connection's next query may still meet its error; past one connect timeout every slot must be healthy.
  await sleep(CONNECT_TIMEOUT_MS + 500);
  phase = "after";
  await sleep(CONNECT_TIMEOUT_MS * 2.5);
  phase = "done";
  await Promise.all(loops);

  expect(afterFailures).toEqual([]);
  expect(afterSuccesses).toBeGreaterThan(0);
  const [connections] = await admin<[{ count: number }]>`select count(*)::int as count from pg_stat_activity where datname = ${name}`;
  expect(connections?.count).toBeLessThanOrEqual(handle.maxConnections);
});

it("commits nothing of a transaction whose connection PostgreSQL ends midway, though the pool reuses the connection", async () => {
  // drizzle's transactions are postgres.js's begin(); one connection, so the queued query below is sure to reconnect
  // it while the transaction's callback still runs.
  const client = postgres(url, { max: 1, connect_timeout: CONNECT_TIMEOUT_MS / 1000, onnotice: () => {} });
  try {
    await client`create table transaction_probe (n int)`;
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      // begin() rejects as soon as the connection closes, while the callback goes on: the test waits for both.
      let callback: Promise<void> = Promise.resolve();
      const attempt = client.begin((tx) => {
        callback = (async () => {
          await tx`insert into transaction_probe values (${round * 10})`;
          const [backend] = await tx<[{ pid: number }]>`select pg_backend_pid() as pid`;
          const waiting = client`select 1`.catch(() => {});
          await admin`select pg_terminate_backend(${backend?.pid ?? 0})`;
          await waiting;
          // What a transaction callback does next, unaware: none of it may run outside the transaction.
          for (let statement = 1; statement < 4; statement++) {
            await tx`insert into transaction_probe values (${round * 10 + statement})`.catch(() => {});
          }
        })();
        return callback;
      });
      outcomes.push(await attempt.then(() => "committed", (error: { code?: string }) => error.code ?? "failed"));
      await callback;
    }

    expect(outcomes.filter((outcome) => outcome === "committed")).toEqual([]);
    expect(await client`select n from transaction_probe`).toHaveLength(0);
  } finally {
    await client.end({ timeout: 5 });
  }
});
