import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { outboxMessages } from "../../src/db/tables/outbox.ts";
import { webhookEndpoints } from "../../src/db/tables/webhooks.ts";
import { type AuditEventType, createAuditLog, SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { createWebhookChannel } from "../../src/webhooks/webhook-channel.ts";
import { WEBHOOK_EVENT_TYPES, WEBHOOKS_OF_AUDIT } from "../../src/webhooks/webhook-events.ts";
import { postWebhook } from "../../src/webhooks/webhook-post.ts";
import { WEBHOOK_SECRET_BOX_PURPOSE } from "../../src/webhooks/webhook-secrets.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { bearer, createTestApp, registerUser, TEST_AUTH_SECRET, type TestApp } from "../support/test-app.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

/**
 * Webhooks end to end in process: a real receiver on loopback verifies every delivery with the standardwebhooks
 * library. Retries move an injected clock; nothing sleeps through a schedule.
 */
let current = new Date();
const clock = { advance: (ms: number) => void (current = new Date(current.getTime() + ms)) };
let t: TestApp;
let admin: ReturnType<typeof asAdmin>;
let receiver: WebhookReceiver;

beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" }, { now: () => current });
  receiver = await startWebhookReceiver();
});
// A fresh administrator per test: the clock moves by days, past any session's lifetime.
beforeEach(async () => {
  admin = asAdmin(t, (await registerAdmin(t)).accessToken);
});
afterAll(async () => {
  await receiver.close();
  await t.close();
});
afterEach(async () => {
  await t.services.mail.drain();
  await t.db.delete(outboxMessages).where(eq(outboxMessages.kind, "webhook"));
  await t.db.delete(webhookEndpoints);
  receiver.received.length = 0;
  receiver.answers.length = 0;
});

async function createEndpoint(eventTypes: string[] = [], url = receiver.url) {
  const response = await admin("POST", "/auth/admin/webhooks", { url, eventTypes, description: "test receiver" });
  expect(response.status).toBe(201);
  return (await response.json()) as { endpoint: { id: string; enabled: boolean }; secret: string };
}

const deliver = () => t.services.mail.drain();

describe("delivery", () => {
  it("an event arrives once, signed per Standard Webhooks, carrying ids and no secrets", async () => {
    const { secret } = await createEndpoint(["user.created"]);
    const { user, account } = await registerUser(t);
    await deliver();

    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    if (delivery === undefined) throw new Error("nothing delivered");
    expect(receiver.verifies(delivery, secret)).toBe(true);
    expect(receiver.verifies(delivery, "whsec_" + Buffer.alloc(32, 1).toString("base64"))).toBe(false);
    expect(delivery.event).toEqual({ type: "user.created", timestamp: expect.any(String), data: { userId: user.id, sessionId: expect.any(String) } });
    expect(delivery.body).not.toContain(account.password);
    expect(delivery.headers["content-type"]).toBe("application/json");
  });

  it("the outbox is woken exactly when an event wrote a delivery, and the audit row is written either way", async () => {
    const { user } = await registerUser(t);
    let wakes = 0;
    const audit = createAuditLog(t.db, createLogger({ level: "silent" }), () => {}, { onWebhooksWritten: () => void wakes++ });
    const rowsOf = async (type: AuditEventType) => (await t.db.select().from(auditEvents).where(eq(auditEvents.userId, user.id))).filter((row) => row.type === type);
    await createEndpoint(["user.banned"]);
    // Maps to session.created, which no endpoint subscribes to: its audit row, no delivery, no wake.
    await audit.record("login.succeeded", { userId: user.id, payload: { via: "password" } }, SYSTEM_AUDIT_CONTEXT);
    // Maps to no webhook at all.
    await audit.record("email.verification_sent", { userId: user.id }, SYSTEM_AUDIT_CONTEXT);
    expect(wakes).toBe(0);
    expect(await rowsOf("login.succeeded")).toEqual([expect.objectContaining({ payload: { via: "password" }, ipAddress: SYSTEM_AUDIT_CONTEXT.ipAddress })]);
    expect(await rowsOf("email.verification_sent")).toHaveLength(1);
    await audit.record("admin.user_banned", { userId: user.id, actorId: user.id, payload: { expiresAt: null } }, SYSTEM_AUDIT_CONTEXT);
    expect(wakes).toBe(1);
    const banned = await rowsOf("admin.user_banned");
    expect(banned).toEqual([expect.objectContaining({ actorId: user.id, payload: { expiresAt: null } })]);
    const deliveries = await t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "webhook"));
    expect(deliveries.map((delivery) => JSON.parse(delivery.payload).type)).toEqual(["user.banned"]);
  });

  it("recordAll writes several events in order, with their deliveries, in one statement: all or none, a failure logged", async () => {
    const { user } = await registerUser(t);
    const logged: Array<{ msg: string; auditType?: string; auditTypes?: string[] }> = [];
    const logger = createLogger({ level: "error", destination: { write: (line: string) => void logged.push(JSON.parse(line)) } });
    let wakes = 0;
    const audit = createAuditLog(t.db, logger, () => {}, { onWebhooksWritten: () => void wakes++ });
    const ownRows = async () =>
      (await t.db.select().from(auditEvents).where(eq(auditEvents.userId, user.id)).orderBy(auditEvents.seq)).filter((row) => row.type !== "user.registered");
    await createEndpoint(["session.created", "session.revoked"]);
    const [made, evicted] = [crypto.randomUUID(), crypto.randomUUID()];
    const context = { ...SYSTEM_AUDIT_CONTEXT, ipAddress: "192.0.2.7", userAgent: "probe/1", requestId: "request-7", sessionId: crypto.randomUUID(), impersonatorId: user.id };

    await audit.recordAll(
      [
        { type: "login.succeeded", event: { userId: user.id, sessionId: made, payload: { via: "otp" } } },
        { type: "session.evicted", event: { userId: user.id, sessionId: evicted, payload: { reason: "session cap" } } },
        { type: "email.verification_sent", event: { userId: user.id } },
      ],
      context,
    );
    expect(wakes).toBe(1);
    expect((await ownRows()).map((row) => [row.type, row.sessionId, row.payload, row.ipAddress, row.userAgent, row.requestId, row.actorId])).toEqual([
      ["login.succeeded", made, { via: "otp" }, "192.0.2.7", "probe/1", "request-7", user.id],
      ["session.evicted", evicted, { reason: "session cap" }, "192.0.2.7", "probe/1", "request-7", user.id],
      ["email.verification_sent", context.sessionId, {}, "192.0.2.7", "probe/1", "request-7", user.id],
    ]);
    const deliveries = await t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "webhook"));
    const sent = deliveries.map((delivery) => JSON.parse(delivery.payload) as { type: string; data: unknown }).map(({ type, data }) => ({ type, data }));
    expect(sent.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "session.created", data: { userId: user.id, actorId: user.id, sessionId: made, via: "otp" } },
      { type: "session.revoked", data: { userId: user.id, actorId: user.id, sessionId: evicted } },
    ]);

    // The second event cannot be written (its user id is no uuid): neither is, and the caller is not failed.
    await audit.recordAll(
      [
        { type: "login.succeeded", event: { userId: user.id, sessionId: crypto.randomUUID() } },
        { type: "session.evicted", event: { userId: "not-a-uuid", sessionId: crypto.randomUUID() } },
      ],
      context,
    );
    expect(await ownRows()).toHaveLength(3);
    expect(logged).toEqual([expect.objectContaining({ msg: "audit events not recorded", auditTypes: ["login.succeeded", "session.evicted"] })]);
    expect(wakes).toBe(1);

    // One event is written, and its failure logged, as record does it (the log line alerts may already match).
    await audit.recordAll([{ type: "session.evicted", event: { userId: "not-a-uuid", sessionId: crypto.randomUUID() } }], context);
    expect(logged.at(-1)).toEqual(expect.objectContaining({ msg: "audit event not recorded", auditType: "session.evicted" }));
  });

  it("the secret is sealed at rest and shown only on creation", async () => {
    const { endpoint, secret } = await createEndpoint();
    expect(secret).toMatch(/^whsec_/);
    const [row] = await t.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row?.sealedSecret).not.toContain(secret.slice(6));
    expect(createSecretBox(TEST_AUTH_SECRET, WEBHOOK_SECRET_BOX_PURPOSE).open(row?.sealedSecret ?? "")).toBe(secret);
    const shown = await (await admin("GET", `/auth/admin/webhooks/${endpoint.id}`)).text();
    expect(shown).not.toContain(secret);
    expect(await (await admin("GET", "/auth/admin/webhooks")).text()).not.toContain(secret);
  });

  it("a receiver answering 500 gets the retry after 5 s, with the same webhook-id; the deliveries API shows both attempts", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    receiver.answers.push(500);
    await registerUser(t);
    await deliver();
    expect(receiver.received).toHaveLength(1);
    // 5 s, jittered by at most 10%.
    clock.advance(4_000);
    await deliver();
    expect(receiver.received).toHaveLength(1);
    clock.advance(2_000);
    await deliver();
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.id).toBe(receiver.received[0]?.id);

    const page = (await (await admin("GET", `/auth/admin/webhooks/${endpoint.id}/deliveries`)).json()) as {
      deliveries: Array<{ id: string; status: string; eventType: string; attempts: Array<{ statusCode: number | null; latencyMs: number }> }>;
    };
    expect(page.deliveries).toEqual([
      expect.objectContaining({ id: receiver.received[0]?.id, status: "delivered", eventType: "user.created", attempts: [expect.objectContaining({ statusCode: 500 }), expect.objectContaining({ statusCode: 200 })] }),
    ]);
  });

  it("410 Gone disables the endpoint at once, audited; later events are not queued for it", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    receiver.answers.push(410);
    await registerUser(t);
    await deliver();
    const [row] = await t.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row).toMatchObject({ enabled: false, disabledReason: "gone" });
    const audited = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "webhook.endpoint_disabled"));
    expect(audited.map((event) => event.payload)).toContainEqual({ endpointId: endpoint.id, reason: "gone" });

    clock.advance(10_000);
    await registerUser(t);
    await deliver();
    expect(receiver.received).toHaveLength(1);
    expect(await t.db.select().from(outboxMessages).where(eq(outboxMessages.endpointId, endpoint.id))).toEqual([expect.objectContaining({ status: "failed" })]);
  });

  it("three days of failures without a success disable the endpoint, audited", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    receiver.answers.push(...Array<number>(20).fill(500));
    await registerUser(t);
    await deliver();
    clock.advance(2 * 86_400_000);
    await registerUser(t);
    await deliver();
    expect((await t.services.webhooks.get(endpoint.id)).enabled).toBe(true);
    clock.advance(86_400_000 + 1_000);
    await registerUser(t);
    await deliver();
    expect(await t.services.webhooks.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: "failing" });
    const audited = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "webhook.endpoint_disabled"));
    expect(audited.map((event) => event.payload)).toContainEqual({ endpointId: endpoint.id, reason: "failing" });
  });

  it("a success ends a failure streak: failures spread over more than three days with a success between do not disable", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    receiver.answers.push(500);
    await registerUser(t);
    await deliver();
    clock.advance(2 * 86_400_000);
    await registerUser(t); // 200
    await deliver();
    clock.advance(2 * 86_400_000);
    receiver.answers.push(500);
    await registerUser(t);
    await deliver();
    expect((await t.services.webhooks.get(endpoint.id)).enabled).toBe(true);
  });

  it("a receiver that never answers is given up on at the timeout and retried", async () => {
    receiver.answers.push("hang");
    const started = performance.now();
    const result = await postWebhook(new URL(receiver.url), {}, "{}", { allowInternal: true, timeoutMs: 200 });
    expect(result).toEqual({ error: "no answer within 200 ms" });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("a redirect is not followed: it counts as a failure", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    receiver.answers.push(307);
    await registerUser(t);
    await deliver();
    const [row] = await t.db.select().from(outboxMessages).where(eq(outboxMessages.endpointId, endpoint.id));
    expect(row).toMatchObject({ status: "pending", lastError: "HTTP 307" });
    expect(receiver.received).toHaveLength(1);
  });
});

describe("one endpoint at a time", () => {
  it("a receiver that never answers holds one delivery, not the lane: another endpoint's events arrive meanwhile", async () => {
    const silent = await startWebhookReceiver();
    silent.answers.push(...Array<"hang">(20).fill("hang"));
    try {
      await createEndpoint(["user.updated"], silent.url);
      await createEndpoint(["user.updated"]);
      const { user } = await registerUser(t);
      await deliver();
      // Eight events for each endpoint, in one statement each: the silent endpoint's rows are as old as the others'.
      for (let i = 0; i < 8; i++) await t.services.audit.record("user.updated", { userId: user.id, payload: { changed: ["email"] } }, SYSTEM_AUDIT_CONTEXT);
      // Well inside the 10 s a held delivery waits for its answer.
      await expect.poll(() => receiver.received.length, { timeout: 5_000, interval: 20 }).toBe(8);
      expect(silent.received).toHaveLength(1);
    } finally {
      // Cuts the held connection: that delivery fails and waits for its retry.
      await silent.close();
    }
  });
});

describe("secret rotation", () => {
  it("during the 24 h overlap both secrets verify; after it only the new one", async () => {
    const { endpoint, secret: old } = await createEndpoint(["user.created"]);
    const rotated = await admin("POST", `/auth/admin/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const { secret: fresh } = (await rotated.json()) as { secret: string };
    expect(fresh).not.toBe(old);

    await registerUser(t);
    await deliver();
    const [during] = receiver.received;
    if (during === undefined) throw new Error("nothing delivered");
    expect(receiver.verifies(during, old)).toBe(true);
    expect(receiver.verifies(during, fresh)).toBe(true);

    clock.advance(24 * 3_600_000 + 1_000);
    await registerUser(t);
    await deliver();
    const after = receiver.received[1];
    if (after === undefined) throw new Error("nothing delivered");
    expect(receiver.verifies(after, fresh)).toBe(true);
    expect(receiver.verifies(after, old)).toBe(false);
  });

  it("two rotations at once: one wins, the other is WEBHOOK_ROTATION_PENDING; no secret handed out fails to sign", async () => {
    const { endpoint, secret: original } = await createEndpoint(["user.created"]);
    const answers = await Promise.all([1, 2].map(() => admin("POST", `/auth/admin/webhooks/${endpoint.id}/rotate-secret`)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const won = answers.find((answer) => answer.status === 200);
    const refused = answers.find((answer) => answer.status === 409);
    expect(await refused?.json()).toMatchObject({ code: "WEBHOOK_ROTATION_PENDING" });
    const { secret } = (await won?.json()) as { secret: string };

    await registerUser(t);
    await deliver();
    const [delivery] = receiver.received;
    if (delivery === undefined) throw new Error("nothing delivered");
    expect(receiver.verifies(delivery, secret)).toBe(true);
    expect(receiver.verifies(delivery, original)).toBe(true);
  });

  it("rotating again within the overlap is refused, so the secret receivers hold signs its promised 24 h; after it, rotating works", async () => {
    const { endpoint, secret: original } = await createEndpoint(["user.created"]);
    expect((await admin("POST", `/auth/admin/webhooks/${endpoint.id}/rotate-secret`)).status).toBe(200);
    clock.advance(60_000);
    const again = await admin("POST", `/auth/admin/webhooks/${endpoint.id}/rotate-secret`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "WEBHOOK_ROTATION_PENDING" });

    await registerUser(t);
    await deliver();
    const [delivery] = receiver.received;
    if (delivery === undefined) throw new Error("nothing delivered");
    expect(receiver.verifies(delivery, original)).toBe(true);

    clock.advance(24 * 3_600_000);
    const later = asAdmin(t, (await registerAdmin(t)).accessToken); // the first one's session ended with the day
    expect((await later("POST", `/auth/admin/webhooks/${endpoint.id}/rotate-secret`)).status).toBe(200);
    expect((await later("POST", "/auth/admin/webhooks/00000000-0000-4000-8000-000000000000/rotate-secret")).status).toBe(404);
  });
});

describe("the admin API", () => {
  it("test sends a webhook.test event to that endpoint alone; a delivery can be retried", async () => {
    const { endpoint, secret } = await createEndpoint(["password.changed"]);
    const sent = await admin("POST", `/auth/admin/webhooks/${endpoint.id}/test`);
    expect(sent.status).toBe(202);
    const { deliveryId } = (await sent.json()) as { deliveryId: string };
    await deliver();
    expect(receiver.received.map((delivery) => [delivery.type, delivery.id])).toEqual([["webhook.test", deliveryId]]);
    expect(receiver.verifies(receiver.received[0] as never, secret)).toBe(true);

    expect((await admin("POST", `/auth/admin/webhook-deliveries/${deliveryId}/retry`)).status).toBe(202);
    await deliver();
    expect(receiver.received.map((delivery) => delivery.id)).toEqual([deliveryId, deliveryId]);
    expect((await admin("POST", "/auth/admin/webhook-deliveries/00000000-0000-4000-8000-000000000000/retry")).status).toBe(404);
  });

  it("PATCH changes an endpoint, DELETE removes it with its pending deliveries; both are audited; unknown ids are 404", async () => {
    const { endpoint } = await createEndpoint(["user.created"]);
    const patched = await admin("PATCH", `/auth/admin/webhooks/${endpoint.id}`, { eventTypes: ["user.deleted"], enabled: false, description: "off" });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ endpoint: { eventTypes: ["user.deleted"], enabled: false, description: "off" } });
    expect((await admin("DELETE", `/auth/admin/webhooks/${endpoint.id}`)).status).toBe(204);
    expect((await admin("GET", `/auth/admin/webhooks/${endpoint.id}`)).status).toBe(404);
    expect((await admin("GET", "/auth/admin/webhooks/not-a-uuid")).status).toBe(404);
    const types = (await t.db.select({ type: auditEvents.type }).from(auditEvents)).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(["admin.webhook_created", "admin.webhook_updated", "admin.webhook_deleted"]));
  });

  it("is for administrators only; unknown event types and malformed URLs are 400", async () => {
    const user = await registerUser(t);
    expect((await t.request("GET", "/auth/admin/webhooks", undefined, bearer(user.accessToken))).status).toBe(403);
    expect((await t.request("POST", "/auth/admin/webhooks", { url: receiver.url }, bearer(user.accessToken))).status).toBe(403);
    expect((await admin("POST", "/auth/admin/webhooks", { url: receiver.url, eventTypes: ["user.hacked"] })).status).toBe(400);
    expect((await admin("POST", "/auth/admin/webhooks", { url: "ftp://example.com/" })).status).toBe(400);
    expect((await admin("POST", "/auth/admin/webhooks", { url: "not a url" })).status).toBe(400);
  });
});

describe("every event type", () => {
  it("each webhook event type has an audit event that emits it", () => {
    const emitted = new Set(Object.values(WEBHOOKS_OF_AUDIT).flatMap((mapping) => mapping.types({ changed: ["email", "roles"] })));
    expect([...emitted].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  it("every audited event that maps arrives once per webhook type, validly signed, in one statement with its audit row", async () => {
    const { secret } = await createEndpoint();
    const { user } = await registerUser(t);
    await deliver();
    receiver.received.length = 0;
    const expected: string[] = [];
    for (const [type, mapping] of Object.entries(WEBHOOKS_OF_AUDIT)) {
      const payload = { changed: ["email", "roles"], roles: ["user"], method: "totp", secret: "never-sent" };
      await t.services.audit.record(type as AuditEventType, { userId: user.id, payload }, SYSTEM_AUDIT_CONTEXT);
      expected.push(...mapping.types(payload));
    }
    await deliver();
    expect(receiver.received.map((delivery) => delivery.type).sort()).toEqual([...expected].sort());
    expect(new Set(receiver.received.map((delivery) => delivery.id)).size).toBe(receiver.received.length);
    for (const delivery of receiver.received) {
      expect(receiver.verifies(delivery, secret)).toBe(true);
      expect(delivery.event.data.userId).toBe(user.id);
      expect(delivery.body).not.toContain("never-sent");
    }
  });

  it("real flows emit: a login, a failed login, a logout, a password change, a ban and an unban", async () => {
    await createEndpoint();
    const { user, account, accessToken } = await registerUser(t);
    expect((await t.request("POST", "/auth/login", { email: account.email, password: "wrong password!" })).status).toBe(401);
    const login = await t.request("POST", "/auth/login", { email: account.email, password: account.password });
    expect(login.status).toBe(200);
    const changed = await t.request("POST", "/auth/change-password", { currentPassword: account.password, newPassword: "another correct horse battery" }, bearer(accessToken));
    expect(changed.status).toBeLessThan(300);
    const { accessToken: sessionToken } = (await login.json()) as { accessToken: string };
    expect((await t.request("POST", "/auth/logout", undefined, bearer(sessionToken))).status).toBeLessThan(300);
    expect((await admin("POST", `/auth/admin/users/${user.id}/ban`, { reason: "test" })).status).toBe(200);
    expect((await admin("POST", `/auth/admin/users/${user.id}/unban`)).status).toBe(200);
    await deliver();
    const types = receiver.received.filter((delivery) => delivery.event.data.userId === user.id).map((delivery) => delivery.type);
    expect(types).toEqual(expect.arrayContaining(["user.created", "login.failed", "session.created", "password.changed", "user.banned", "user.unbanned", "session.revoked"]));
  });
});

describe("SSRF", () => {
  let strict: TestApp;
  let strictAdmin: ReturnType<typeof asAdmin>;
  beforeAll(async () => {
    strict = await createTestApp();
    strictAdmin = asAdmin(strict, (await registerAdmin(strict)).accessToken);
  });
  afterAll(async () => {
    await strict.close();
  });

  it.each(["http://127.0.0.1/hooks", "http://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data", "http://localhost:8080/hooks", "http://[::1]/hooks", "http://[::ffff:127.0.0.1]/hooks"])(
    "refuses %s at creation (WEBHOOK_URL_FORBIDDEN)",
    async (url) => {
      const response = await strictAdmin("POST", "/auth/admin/webhooks", { url });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "WEBHOOK_URL_FORBIDDEN" });
    },
  );

  it("refuses a URL with user info, and a name that does not resolve", async () => {
    expect(await (await strictAdmin("POST", "/auth/admin/webhooks", { url: "https://user:pass@example.com/" })).json()).toMatchObject({ code: "WEBHOOK_URL_FORBIDDEN" });
    expect(await (await strictAdmin("POST", "/auth/admin/webhooks", { url: "https://no-such-host.invalid/" })).json()).toMatchObject({ code: "WEBHOOK_URL_FORBIDDEN" });
  });

  it("checks again when it connects: an endpoint whose name now resolves to loopback gets nothing", async () => {
    // Stored while allowed (the name resolved elsewhere then: DNS rebinding); delivered by a channel that is not.
    const { endpoint } = await createEndpoint([], `http://localhost:${receiver.port}/hooks`);
    const channel = createWebhookChannel({
      db: t.db,
      box: createSecretBox(TEST_AUTH_SECRET, WEBHOOK_SECRET_BOX_PURPOSE),
      audit: t.services.audit,
      allowInternal: false,
      now: () => current,
    });
    // Written without waking the app's own worker (which may deliver to loopback): only this channel delivers it.
    await t.services.outboxStore.add(t.db, [{ kind: "webhook", payload: JSON.stringify({ type: "webhook.test", timestamp: current.toISOString(), data: {} }), endpointId: endpoint.id }], current);
    const [row] = await t.services.outboxStore.claim(current, 60_000, 10, "webhook");
    if (row === undefined) throw new Error("no delivery queued");
    const outcome = await channel.deliver(row);
    expect(outcome).toMatchObject({ ok: false, error: expect.stringContaining("internal address") });
    expect(receiver.received).toEqual([]);
  });

  it("production refuses plain http unless WEBHOOK_ALLOW_PRIVATE_NETWORKS", async () => {
    const { assertEndpointUrl } = await import("../../src/webhooks/endpoint-url.ts");
    await expect(assertEndpointUrl("http://93.184.215.14/", { allowInternal: false, isProduction: true })).rejects.toMatchObject({ code: "WEBHOOK_URL_FORBIDDEN" });
    await expect(assertEndpointUrl("https://93.184.215.14/", { allowInternal: false, isProduction: true })).resolves.toBeInstanceOf(URL);
    await expect(assertEndpointUrl("http://127.0.0.1/", { allowInternal: true, isProduction: true })).resolves.toBeInstanceOf(URL);
  });
});
