import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxMessages } from "../../src/db/tables/outbox.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createComposeChannel, sealIntent } from "../../src/outbox/compose-channel.ts";
import { createOutboxStore, type OutboxKind } from "../../src/outbox/outbox-store.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { type AttemptResult, createOutboxWorker, type DeliveryOutcome, type OutboxChannel } from "../../src/outbox/outbox-worker.ts";
import { createTestApp, type TestApp } from "../support/test-app.ts";

/**
 * The outbox worker against the attacker's slow receiver: each kind is its own lane (a webhook receiver that never
 * answers cannot hold mail), and a claim is fenced (an attempt that outlived its lease cannot settle the row).
 * Rows are written without waking the app's own worker; these tests' workers never poll.
 */
const logger = createLogger({ level: "silent" });
const HOUR_MS = 3_600_000;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

/** A channel whose deliveries wait until the test settles them. */
function heldChannel() {
  const waiting: Array<(outcome: DeliveryOutcome) => void> = [];
  const channel: OutboxChannel = {
    retrySchedule: () => 60_000,
    deliver: () => new Promise<DeliveryOutcome>((resolve) => waiting.push(resolve)),
  };
  return { channel, waiting, settleAll: (outcome: DeliveryOutcome) => waiting.splice(0).forEach((settle) => settle(outcome)) };
}

describe("lanes: mail never waits behind webhooks", () => {
  it("a mail written after eight webhook rows to a receiver that never answers is delivered while they hang", async () => {
    const store = createOutboxStore(t.db);
    const started = new Date();
    // Older than the mail: oldest-first over both kinds would claim these first.
    await store.add(t.db, Array.from({ length: 8 }, (_, i) => ({ kind: "webhook" as const, payload: `hook-${i}` })), new Date(started.getTime() - 1_000));
    await store.add(t.db, [{ kind: "mail", payload: "reset mail" }], started);
    const hooks = heldChannel();
    let mailDelivered!: (payload: string) => void;
    const mail = new Promise<string>((resolve) => (mailDelivered = resolve));
    const mailChannel: OutboxChannel = { retrySchedule: () => null, deliver: async (message) => (mailDelivered(message.payload), { ok: true }) };
    const worker = createOutboxWorker({ store, channels: { mail: mailChannel, webhook: hooks.channel, compose: mailChannel }, logger, now: () => new Date(), leaseMs: HOUR_MS, pollMs: HOUR_MS, lanes: { mail: { size: 4 }, webhook: { size: 4 }, compose: { size: 2 } } });

    worker.wake();
    const first = await Promise.race([mail, new Promise<"held">((resolve) => setTimeout(() => resolve("held"), 5_000))]);
    expect(first).toBe("reset mail");

    while (hooks.waiting.length > 0 || (await t.db.select().from(outboxMessages).where(eq(outboxMessages.status, "pending"))).length > 0) {
      hooks.settleAll({ ok: true });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await worker.stop(1_000);
  });
});

describe("a claim is fenced", () => {
  it("an attempt that outlived its lease settles nothing: the row stays as the later claim left it, and its outcome is not counted", async () => {
    const store = createOutboxStore(t.db);
    let now = new Date();
    const id = randomUUID();
    await store.add(t.db, [{ id, kind: "mail", payload: "fenced" }], now);
    const stale = heldChannel();
    const counted: Array<[OutboxKind, AttemptResult]> = [];
    const instance = (channel: OutboxChannel) =>
      createOutboxWorker({ store, channels: { mail: channel, webhook: channel, compose: channel }, logger, now: () => now, leaseMs: 60_000, pollMs: HOUR_MS, lanes: { mail: { size: 1 }, webhook: { size: 1 }, compose: { size: 1 } }, onAttempt: (kind, result) => void counted.push([kind, result]) });
    const a = instance(stale.channel);
    const b = instance({ retrySchedule: () => 60_000, deliver: async () => ({ ok: true }) });

    // A claims and hangs (an SMTP server trickling) past its lease; B claims the row again and delivers it.
    const aPass = a.runUntilIdle();
    while (stale.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    now = new Date(now.getTime() + 61_000);
    await b.runUntilIdle();
    // A's late answer, a final failure, must not turn B's delivery into a failure (nor a retry into a second send).
    stale.settleAll({ ok: false, error: "550 too late", final: true });
    await aPass;
    await Promise.all([a.stop(1_000), b.stop(1_000)]);

    const [row] = await t.db.select().from(outboxMessages).where(eq(outboxMessages.id, id));
    expect(row?.status).toBe("delivered");
    expect(row?.attempts).toBe(2);
    expect(counted).toEqual([["mail", "delivered"]]);
  });
});

describe("the compose lane before its composers are wired", () => {
  it("claims nothing (an intent left from before a restart is not spent on a missing composer), then composes once they are", async () => {
    const store = createOutboxStore(t.db);
    const box = createSecretBox("an auth secret of at least thirty-two characters", "outbox-compose");
    const id = randomUUID();
    await store.add(t.db, [{ id, kind: "compose", payload: sealIntent(box, { type: "note", text: "left by a crash" }) }], new Date());
    const compose = createComposeChannel({ store, box, mailBox: box, retrySchedule: () => 60_000, now: () => new Date(), wake: () => {} });
    const idle: OutboxChannel = { retrySchedule: () => null, deliver: async () => ({ ok: true }) };
    const worker = createOutboxWorker({ store, channels: { mail: idle, webhook: idle, compose: compose.channel }, logger, now: () => new Date(), leaseMs: HOUR_MS, pollMs: HOUR_MS, lanes: { mail: { size: 0 }, webhook: { size: 0 }, compose: { size: 1 } } });
    const row = async () => (await t.db.select().from(outboxMessages).where(eq(outboxMessages.id, id)))[0];

    await worker.runUntilIdle();
    expect(await row()).toMatchObject({ status: "pending", attempts: 0 });

    const composed: string[] = [];
    compose.register<{ type: "note"; text: string }>({ note: async ({ text }) => (composed.push(text), { mail: null }) });
    await worker.runUntilIdle();
    await worker.stop(1_000);
    expect(composed).toEqual(["left by a crash"]);
    expect(await row()).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
