import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { runCli, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

/**
 * Webhooks from real server processes sharing one PostgreSQL: two instances deliver each event exactly once, and
 * an instance SIGKILLed while a delivery is in flight leaves it to be delivered after its lease (at least once,
 * with the same webhook-id).
 */
const ADMIN_URL = process.env.TEST_DATABASE_URL;
const APP_URL = "http://servauth.test";
const PASSWORD = "correct horse battery staple";
const shared = {
  APP_URL,
  AUTH_SECRET: randomBytes(32).toString("base64url"),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
  OUTBOX_LEASE_SECONDS: "2",
  OUTBOX_POLL_SECONDS: "1",
  REVOCATION_HEARTBEAT_MS: "200",
};

function post(server: SpawnedServer, route: string, body: unknown, token?: string) {
  return fetch(`${server.url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

let counter = 0;
const newEmail = () => `hook-${Date.now().toString(36)}-${++counter}@example.com`;

describe.skipIf(ADMIN_URL === undefined)("webhooks across instances on PostgreSQL", () => {
  let database: ScratchDatabase;
  let receiver: WebhookReceiver;
  let a: SpawnedServer;
  let b: SpawnedServer | undefined;
  const start = () => spawnServer({ runtime: "bun", databaseUrl: database.url, env: shared });

  beforeAll(async () => {
    database = await createScratchDatabase(ADMIN_URL ?? "");
    receiver = await startWebhookReceiver();
    a = await start();
    b = await start();
    const email = newEmail();
    expect((await post(a, "/auth/register", { email, password: PASSWORD })).status).toBe(201);
    const made = await runCli("bun", ["users", "set-roles", email, "admin"], { DATABASE_URL: database.url, AUTH_SECRET: shared.AUTH_SECRET });
    expect(made.code, made.stderr).toBe(0);
    const login = await post(a, "/auth/login", { email, password: PASSWORD });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const created = await post(a, "/auth/admin/webhooks", { url: receiver.url, eventTypes: ["user.created"] }, accessToken);
    expect(created.status, await created.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await receiver.close();
    await database.drop();
  });

  test("two instances deliver each event exactly once", async () => {
    const count = 20;
    const emails = Array.from({ length: count }, newEmail);
    const servers = [a, b as SpawnedServer];
    await Promise.all(emails.map(async (email, i) => expect((await post(servers[i % 2] as SpawnedServer, "/auth/register", { email, password: PASSWORD })).status).toBe(201)));
    await expect.poll(() => receiver.received.length, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(count);
    // A little longer: a duplicate would come within a poll interval or two.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const ids = receiver.received.map((delivery) => delivery.id);
    expect(ids).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);
  });

  test("an instance SIGKILLed mid-delivery: the event arrives after the restart, with the same webhook-id", async () => {
    await b?.stop();
    b = undefined;
    receiver.received.length = 0;
    receiver.answers.push("hang");
    expect((await post(a, "/auth/register", { email: newEmail(), password: PASSWORD })).status).toBe(201);
    await expect.poll(() => receiver.received.length, { timeout: 10_000, interval: 50 }).toBe(1);
    await a.stop("SIGKILL");

    a = await start();
    await expect.poll(() => receiver.received.length, { timeout: 15_000, interval: 100 }).toBe(2);
    const [hung, delivered] = receiver.received;
    expect(delivered?.id).toBe(hung?.id);
    expect(delivered?.type).toBe("user.created");
  });
});
