import { randomBytes, randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { createPostgresTransport } from "../../src/sessions/bus-postgres.ts";
import { createBroadcastBus, type RevocationBus, type RevocationEvent } from "../../src/sessions/revocation-bus.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

const adminUrl = process.env.TEST_DATABASE_URL ?? "";
// A database of the buses' own, so the test can refuse them connections without touching anyone else.
const name = `servauth_bus_${randomBytes(6).toString("hex")}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const HEARTBEAT_MS = 100;
const TIMEOUTS = { connectTimeoutMs: 2_000 };
let a: RevocationBus;
let b: RevocationBus;
const seenByB: RevocationEvent[] = [];

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

const killListeners = () =>
  admin((sql) => sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`);

beforeAll(async () => {
  await admin((sql) => sql.unsafe(`create database ${name}`));
  const options = { heartbeatMs: HEARTBEAT_MS, logger: createLogger({ level: "silent" }) };
  [a, b] = await Promise.all([
    createBroadcastBus(createPostgresTransport(url, TIMEOUTS), options),
    createBroadcastBus(createPostgresTransport(url, TIMEOUTS), options),
  ]);
  b.subscribe((event) => seenByB.push(event));
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await admin((sql) => sql.unsafe(`drop database if exists ${name} with (force)`));
});

const resets = () => seenByB.filter((event) => event.kind === "reset").length;

describe("revocation bus over PostgreSQL LISTEN/NOTIFY", () => {
  it("delivers an event published on one instance to the other", async () => {
    await expect.poll(() => a.isConnected() && b.isConnected()).toBe(true);
    const sessionId = randomUUID();
    await a.publish({ kind: "session", sessionId });
    await expect.poll(() => seenByB.some((e) => e.kind === "session" && e.sessionId === sessionId), { timeout: 1000 }).toBe(true);
  });

  it("resets caches after its listening connection is cut, however quick the reconnect", async () => {
    const before = resets();
    await killListeners();
    await expect.poll(resets, { timeout: 5000, interval: 20 }).toBeGreaterThan(before);
    await expect.poll(() => b.isConnected(), { timeout: 5000 }).toBe(true);
    const userId = randomUUID();
    await a.publish({ kind: "user", userId });
    await expect.poll(() => seenByB.some((e) => e.kind === "user" && e.userId === userId), { timeout: 1000 }).toBe(true);
  });

  it("reports itself disconnected while the database refuses it, and resets caches when it is back", async () => {
    let before = resets();
    await admin((sql) => sql.unsafe(`alter database ${name} allow_connections false`));
    try {
      await killListeners();
      await expect.poll(() => b.isConnected(), { timeout: 2000, interval: 20 }).toBe(false);
      before = resets();
    } finally {
      await admin((sql) => sql.unsafe(`alter database ${name} allow_connections true`));
    }
    await expect.poll(() => b.isConnected(), { timeout: 15_000, interval: 50 }).toBe(true);
    expect(resets()).toBeGreaterThan(before);
  }, 30_000);

  it("publishes without delay once the database is back after an outage (no growing reconnect backoff)", async () => {
    const target = new URL(url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = Object.assign(new URL(url), { port: String(proxy.port) }).toString();
    const bus = await createBroadcastBus(createPostgresTransport(viaProxy, TIMEOUTS), {
      heartbeatMs: HEARTBEAT_MS,
      logger: createLogger({ level: "silent" }),
    });
    try {
      await proxy.down();
      // Pings every heartbeat and these publishes fail all through a 3 s outage, as a busy server's would.
      for (let elapsed = 0; elapsed < 3_000; elapsed += 100) {
        await bus.publish({ kind: "session", sessionId: randomUUID() });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await proxy.up();
      const sessionId = randomUUID();
      const started = performance.now();
      await bus.publish({ kind: "session", sessionId });
      await expect.poll(() => seenByB.some((e) => e.kind === "session" && e.sessionId === sessionId), { timeout: 1000 }).toBe(true);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await bus.close();
      await proxy.close();
    }
  }, 15_000);
});
