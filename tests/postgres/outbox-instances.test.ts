import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type DatabaseHandle } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { outboxMessages } from "../../src/db/tables/outbox.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { eq } from "drizzle-orm";
import { createComposeChannel, sealIntent } from "../../src/outbox/compose-channel.ts";
import { createOutboxStore } from "../../src/outbox/outbox-store.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { createOutboxWorker, type OutboxChannel } from "../../src/outbox/outbox-worker.ts";
import { createPostgresTransport } from "../../src/sessions/bus-postgres.ts";
import { createBroadcastBus, type RevocationBus } from "../../src/sessions/revocation-bus.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";

/**
 * Several instances on one PostgreSQL: each due row is claimed by exactly one of them (FOR UPDATE SKIP LOCKED),
 * compose intents too (each composed once, its mail written once), and a row written by one wakes the others
 * through the revocation bus (LISTEN/NOTIFY), not a poll.
 */
const logger = createLogger({ level: "silent" });
const HOUR_MS = 3_600_000;
let scratch: ScratchDatabase;
const handles: DatabaseHandle[] = [];
const buses: RevocationBus[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL ?? "", "servauth_outbox");
  for (let i = 0; i < 2; i++) handles.push(await createDb({ kind: "postgres", url: scratch.url, connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 }));
  await migrateDatabase(handles[0] as DatabaseHandle);
});
afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await Promise.all(handles.map((handle) => handle.close()));
  await scratch.drop();
});

/** A channel that records what it delivered, slowly enough that two workers' batches overlap. */
function recordingChannel(delivered: string[]): OutboxChannel {
  return {
    retrySchedule: () => null,
    async deliver(message) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      delivered.push(message.payload);
      return { ok: true };
    },
  };
}

function workerOn(handle: DatabaseHandle, delivered: string[], batchSize = 5) {
  const channel = recordingChannel(delivered);
  return createOutboxWorker({
    store: createOutboxStore(handle.db),
    channels: { mail: channel, webhook: channel, compose: channel },
    logger,
    now: () => new Date(),
    leaseMs: 60_000,
    // No poll during the test: only claims and wake-ups deliver.
    pollMs: HOUR_MS,
    lanes: { mail: { size: batchSize }, webhook: { size: batchSize }, compose: { size: batchSize } },
  });
}

describe("two instances on one PostgreSQL", () => {
  it("deliver every row exactly once between them, both taking part", async () => {
    const [a, b] = handles as [DatabaseHandle, DatabaseHandle];
    const payloads = Array.from({ length: 200 }, (_, i) => `event-${i}`);
    await createOutboxStore(a.db).add(a.db, payloads.map((payload) => ({ kind: "webhook" as const, payload })), new Date());
    const byA: string[] = [];
    const byB: string[] = [];
    const workers = [workerOn(a, byA), workerOn(b, byB)];

    await Promise.all(workers.map((worker) => worker.runUntilIdle()));
    await Promise.all(workers.map((worker) => worker.stop(1_000)));

    expect([...byA, ...byB].sort()).toEqual([...payloads].sort());
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    const rows = await a.db.select({ status: outboxMessages.status, attempts: outboxMessages.attempts }).from(outboxMessages);
    expect(rows.every((row) => row.status === "delivered" && row.attempts === 1)).toBe(true);
  });

  it("a row written by one instance is delivered by the other, woken through LISTEN/NOTIFY", async () => {
    const [a, b] = handles as [DatabaseHandle, DatabaseHandle];
    const options = { heartbeatMs: 200, logger };
    const [busA, busB] = await Promise.all([
      createBroadcastBus(createPostgresTransport(scratch.url, { connectTimeoutMs: 2_000 }), options),
      createBroadcastBus(createPostgresTransport(scratch.url, { connectTimeoutMs: 2_000 }), options),
    ]);
    buses.push(busA, busB);
    const byB: string[] = [];
    const workerB = workerOn(b, byB);
    busB.subscribe((event) => {
      if (event.kind === "outbox") workerB.wake();
    });

    await createOutboxStore(a.db).add(a.db, [{ kind: "webhook", payload: "woken" }], new Date());
    await busA.publish({ kind: "outbox" });

    await expect.poll(() => byB, { timeout: 5_000 }).toEqual(["woken"]);
    await workerB.stop(1_000);
  });

  it("compose intents are composed once each between them, and each one's mail is written once", async () => {
    const [a, b] = handles as [DatabaseHandle, DatabaseHandle];
    const box = createSecretBox("an auth secret shared by both instances", "outbox-compose");
    const numbers = Array.from({ length: 60 }, (_, i) => i);
    await createOutboxStore(a.db).add(a.db, numbers.map((n) => ({ kind: "compose" as const, payload: sealIntent(box, { type: "note", n }) })), new Date());
    const composedBy = (handle: DatabaseHandle, composed: number[]) => {
      const store = createOutboxStore(handle.db);
      const compose = createComposeChannel({ store, box, mailBox: box, retrySchedule: () => null, now: () => new Date(), wake: () => {} });
      compose.register<{ type: "note"; n: number }>({
        note: async ({ n }) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          composed.push(n);
          return { mail: { to: `note-${n}@example.com`, subject: "s", text: "t", html: "h" } };
        },
      });
      const idle = recordingChannel([]);
      return createOutboxWorker({
        store,
        channels: { mail: idle, webhook: idle, compose: compose.channel },
        logger,
        now: () => new Date(),
        leaseMs: 60_000,
        pollMs: HOUR_MS,
        // Only the compose lane runs: the mail it writes stays in the table to be counted.
        lanes: { mail: { size: 0 }, webhook: { size: 0 }, compose: { size: 2 } },
      });
    };
    const byA: number[] = [];
    const byB: number[] = [];
    const workers = [composedBy(a, byA), composedBy(b, byB)];

    await Promise.all(workers.map((worker) => worker.runUntilIdle()));
    await Promise.all(workers.map((worker) => worker.stop(1_000)));

    expect([...byA, ...byB].sort((x, y) => x - y)).toEqual(numbers);
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    const mails = await a.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "mail"));
    expect(mails).toHaveLength(numbers.length);
  });
});
