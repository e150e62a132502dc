import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { outboxAttempts, outboxMessages } from "../../src/db/tables/outbox.ts";
import type { Mailer, MailMessage } from "../../src/delivery/mailer.ts";
import type { AddressIntent } from "../../src/auth/address-requests.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { users } from "../../src/db/tables/users.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { COMPOSE_BOX_PURPOSE, openIntent, sealIntent } from "../../src/outbox/compose-channel.ts";
import { MAIL_BOX_PURPOSE, openMail } from "../../src/outbox/mail-channel.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { codeIn, createChallenge } from "../support/otp.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { createTestApp, registerUser, TEST_AUTH_SECRET, type TestApp } from "../support/test-app.ts";

/**
 * Mail through the outbox (src/outbox/): sealed at rest, retried on the outbox's schedule (an injected clock moves
 * it, nothing sleeps), given up on visibly, and never lost to a worker that died mid-delivery.
 */

type LogLine = { level: number; msg: string; code?: string };

/** A mailer that refuses the next `failNext` messages, then records. */
function flakyMailer() {
  const sent: MailMessage[] = [];
  const mailer = {
    sent,
    failNext: 0,
    send: async (message: MailMessage) => {
      if (mailer.failNext > 0) {
        mailer.failNext -= 1;
        throw new Error("451 try again later");
      }
      sent.push(message);
    },
    close: async () => {},
  } satisfies Mailer & { sent: MailMessage[]; failNext: number };
  return mailer;
}

const mailer = flakyMailer();
const lines: LogLine[] = [];
let current = new Date();
const clock = { advance: (ms: number) => void (current = new Date(current.getTime() + ms)) };
let t: TestApp;
let admin: ReturnType<typeof asAdmin>;

beforeAll(async () => {
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  t = await createTestApp({}, { mailer, logger, now: () => current });
  admin = asAdmin(t, (await registerAdmin(t)).accessToken);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.services.mail.drain();
  mailer.failNext = 0;
  mailer.sent.length = 0;
  lines.length = 0;
});

const rowsTo = async (to: string) => {
  const box = createSecretBox(TEST_AUTH_SECRET, MAIL_BOX_PURPOSE);
  const rows = await t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "mail"));
  return rows.filter((row) => openMail(box, row.payload).to === to);
};

describe("mail at rest in the outbox", () => {
  it("is sealed: neither the reset link's token nor the address is readable in the database", async () => {
    const { account } = await registerUser(t);
    mailer.failNext = 1;
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    await t.services.mail.drain();
    clock.advance(60_000);
    await t.services.mail.drain();
    const reset = mailer.sent.find((mail) => mail.to === account.email && mail.subject === "Reset your password");
    if (reset === undefined) throw new Error("no reset mail");
    const token = tokenFrom(reset, "/reset-password");

    const rows = await t.db.select().from(outboxMessages);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.payload).not.toContain(token);
      expect(row.payload).not.toContain(account.email);
    }
    // ...and it is this mail, sealed under the outbox's own label: another purpose's box does not open it.
    const [row] = await rowsTo(account.email).then((found) => found.filter((r) => openMail(createSecretBox(TEST_AUTH_SECRET, MAIL_BOX_PURPOSE), r.payload).subject === "Reset your password"));
    if (row === undefined) throw new Error("no outbox row for the reset mail");
    expect(() => createSecretBox(TEST_AUTH_SECRET, "mfa-totp").open(row.payload)).toThrow();
  });
});

describe("retries", () => {
  it("a refused send is retried after its backoff and not before, and every attempt is recorded", async () => {
    mailer.failNext = 1;
    const { account } = await registerUser(t);
    await t.services.mail.drain();
    expect(mailer.sent).toEqual([]);
    const [row] = await rowsTo(account.email);
    expect(row).toMatchObject({ status: "pending", attempts: 1, lastError: "451 try again later" });
    // Not due yet: another pass sends nothing.
    await t.services.mail.drain();
    expect(mailer.sent).toEqual([]);

    clock.advance(1_000);
    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => mail.to)).toEqual([account.email]);
    const [delivered] = await rowsTo(account.email);
    expect(delivered).toMatchObject({ status: "delivered", attempts: 2, lastError: null });
    const attempts = await t.db.select().from(outboxAttempts).where(eq(outboxAttempts.messageId, row?.id ?? ""));
    expect(attempts.map(({ attempt, error }) => ({ attempt, error })).sort((a, b) => a.attempt - b.attempt)).toEqual([
      { attempt: 1, error: "451 try again later" },
      { attempt: 2, error: null },
    ]);
  });

  it("once retries run out the mail is failed: logged at error, counted in /metrics, listed for admins, and an admin's retry sends it", async () => {
    mailer.failNext = 3;
    const { account } = await registerUser(t);
    for (let pass = 0; pass < 3; pass++) {
      await t.services.mail.drain();
      clock.advance(1_000);
    }
    const [row] = await rowsTo(account.email);
    expect(row).toMatchObject({ status: "failed", attempts: 3 });
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: "mail not delivered; giving up" }));

    const metrics = await (await t.request("GET", "/metrics")).text();
    expect(metrics).toMatch(/servauth_outbox_messages\{kind="mail",status="failed"\} [1-9]/);
    expect(metrics).toMatch(/servauth_outbox_attempts_total\{kind="mail",result="failed"\} [1-9]/);
    expect(metrics).toMatch(/servauth_outbox_attempts_total\{kind="mail",result="retry"\} [1-9]/);

    const listed = (await (await admin("GET", "/auth/admin/mail/failed?limit=100")).json()) as { mails: Array<Record<string, unknown>> };
    const entry = listed.mails.find((mail) => mail.id === row?.id);
    expect(entry).toMatchObject({ to: account.email, subject: "Confirm your email address", attempts: 3, lastError: "451 try again later" });
    // Never the body: it holds the link.
    expect(JSON.stringify(listed)).not.toContain("token=");

    expect((await admin("POST", `/auth/admin/mail/${row?.id}/retry`)).status).toBe(202);
    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => mail.to)).toEqual([account.email]);
    expect((await admin("POST", `/auth/admin/mail/${row?.id}/retry`)).status).toBe(404);
    expect((await admin("POST", "/auth/admin/mail/not-a-uuid/retry")).status).toBe(404);
  });

  it("the failed-mail list is for administrators only, and a forged cursor is a 400", async () => {
    const user = await registerUser(t);
    expect((await t.request("GET", "/auth/admin/mail/failed", undefined, { authorization: `Bearer ${user.accessToken}` })).status).toBe(403);
    expect((await admin("GET", "/auth/admin/mail/failed?cursor=forged")).status).toBe(400);
  });
});

describe("a worker that dies mid-delivery", () => {
  it("leaves its claim to be retried once the lease ends, never before: the mail is sent once", async () => {
    const to = "lease@example.com";
    // Written without waking this instance's worker (the executor form, as inside a transaction)...
    await t.services.mail.enqueue({ to, subject: "s", text: "t", html: "h" }, t.db);
    // ...and claimed by a worker that dies before it settles the claim.
    expect(await t.services.outboxStore.claim(current, 60_000, 100, "mail")).toHaveLength(1);
    await t.services.mail.drain();
    expect(mailer.sent).toEqual([]);

    clock.advance(59_000);
    await t.services.mail.drain();
    expect(mailer.sent).toEqual([]);

    clock.advance(2_000);
    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => mail.to)).toEqual([to]);
    await t.services.mail.drain();
    expect(mailer.sent).toHaveLength(1);
  });
});

describe("retention", () => {
  it("delivered mail older than OUTBOX_RETENTION_DAYS is purged; failed mail stays", async () => {
    mailer.failNext = 3;
    const failed = await registerUser(t);
    for (let pass = 0; pass < 3; pass++) {
      await t.services.mail.drain();
      clock.advance(1_000);
    }
    const delivered = await registerUser(t);
    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => mail.to)).toEqual([delivered.account.email]);

    clock.advance(6 * 86_400_000);
    await t.services.outbox.purgeDelivered();
    expect(await rowsTo(delivered.account.email)).toHaveLength(1);
    clock.advance(86_400_000 + 1_000);
    await t.services.outbox.purgeDelivered();
    expect(await rowsTo(delivered.account.email)).toHaveLength(0);
    expect(await rowsTo(failed.account.email)).toEqual([expect.objectContaining({ status: "failed" })]);
  });
});

describe("compose intents (requests whose answer must not tell whether a mail goes out)", () => {
  const intentBox = createSecretBox(TEST_AUTH_SECRET, COMPOSE_BOX_PURPOSE);
  const intents = () => t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "compose"));

  it("are sealed at rest: no address, code, password or hash readable in the table", async () => {
    const { account } = await registerUser(t);
    const password = "another horse battery staple";
    await t.services.addressRequests.register({ email: `sealed-${Date.now()}@example.com`, password }, SYSTEM_AUDIT_CONTEXT);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    await createChallenge(t, account.email);
    await t.services.mail.drain();
    const code = codeIn(mailer.sent.findLast((mail) => mail.to === account.email && mail.subject === "Your sign-in code") ?? { text: "" });

    const rows = await intents();
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const opened = rows.map((row) => openIntent(intentBox, row.payload) as Record<string, unknown>);
    const hash = opened.find((intent) => intent.type === "registration")?.passwordHash;
    expect(hash).toMatch(/^\$argon2id\$/);
    for (const row of rows) {
      for (const secret of [account.email, code, password, String(hash)]) expect(row.payload).not.toContain(secret);
      expect(() => createSecretBox(TEST_AUTH_SECRET, MAIL_BOX_PURPOSE).open(row.payload)).toThrow();
    }
    expect(opened.some((intent) => intent.type === "one-time-code" && intent.code === code && intent.to === account.email)).toBe(true);
  });

  it("a flood of 400 password-reset requests for unknown addresses drops nothing: the real account's reset mail arrives after it", { timeout: 60_000 }, async () => {
    const { account } = await registerUser(t);
    await t.services.mail.drain();
    mailer.sent.length = 0;
    const before = (await intents()).length;
    // The rate limits are off in tests (test-app.ts): nothing but the outbox stands between the flood and the worker.
    const flood = Array.from({ length: 400 }, (_, i) => t.request("POST", "/auth/forgot-password", { email: `nobody-${i}-${Date.now()}@example.com` }));
    const answers = await Promise.all([...flood, t.request("POST", "/auth/forgot-password", { email: account.email })]);
    expect(answers.every((answer) => answer.status === 202)).toBe(true);

    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => [mail.to, mail.subject])).toEqual([[account.email, "Reset your password"]]);
    const rows = await intents();
    expect(rows).toHaveLength(before + 401);
    expect(rows.filter((row) => row.status !== "delivered")).toEqual([]);
  });

  it("composed twice (the first worker died before settling), a registration makes one user and one verification mail", async () => {
    const email = `twice-${Date.now()}@example.com`;
    const passwordHash = await t.services.credentials.hashPassword("correct horse battery staple");
    const intent = { type: "registration", email, passwordHash, context: SYSTEM_AUDIT_CONTEXT } satisfies AddressIntent;
    // The row POST /auth/register writes, written here without waking the app's worker...
    await t.services.outboxStore.add(t.db, [{ kind: "compose", payload: sealIntent(intentBox, intent) }], current);
    // ...claimed by a worker that composes it and dies before the intent is settled.
    const [claimed] = await t.services.outboxStore.claim(current, 60_000, 10, "compose");
    if (claimed === undefined) throw new Error("no intent");
    await t.services.addressRequests.composers.registration(intent);
    await t.services.mail.drain();
    expect(mailer.sent).toEqual([]);

    clock.advance(61_000);
    await t.services.mail.drain();
    expect(mailer.sent.map((mail) => [mail.to, mail.subject])).toEqual([[email, "Confirm your email address"]]);
    expect(await t.db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
    const [row] = await t.db.select().from(outboxMessages).where(eq(outboxMessages.id, claimed.id));
    expect(row).toMatchObject({ status: "delivered", attempts: 2 });
    const [user] = await t.db.select().from(users).where(eq(users.email, email));
    const audited = await t.db.select().from(auditEvents).where(eq(auditEvents.userId, user?.id ?? ""));
    expect(audited.map((event) => event.type)).toEqual(["user.registered"]);
    // The link the second run mailed verifies the address.
    const link = tokenFrom(mailer.sent[0] as MailMessage, "/verify-email");
    expect((await t.request("POST", "/auth/verify-email", { token: link })).status).toBe(200);
  });

  it("are purged after OUTBOX_RETENTION_DAYS however they ended: a composed one, and a failed one that no retry could open", async () => {
    const { account } = await registerUser(t);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    // Sealed under another AUTH_SECRET: it fails at once, for good.
    const unreadable = createSecretBox("another auth secret, of at least 32 characters", COMPOSE_BOX_PURPOSE);
    await t.services.outboxStore.add(t.db, [{ kind: "compose", payload: sealIntent(unreadable, { type: "password-reset" }) }], current);
    await t.services.mail.drain();
    const settled = await intents();
    expect(settled.filter((row) => row.status === "failed")).toHaveLength(1);
    expect(settled.filter((row) => row.status === "pending")).toEqual([]);

    clock.advance(7 * 86_400_000 + 1_000);
    await t.services.outbox.purgeDelivered();
    expect(await intents()).toEqual([]);
  });

  it("the shutdown drain gives up on a mail server that never answers, and says so; the mail stays in the outbox", async () => {
    const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
    const hanging = await createTestApp({}, { logger, mailer: { send: () => new Promise(() => {}), close: async () => {} } });
    try {
      const { account } = await registerUser(hanging);
      await hanging.services.mail.drainWithin(50);
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining("at shutdown") }));
      const [row] = await hanging.db.select().from(outboxMessages);
      expect(row).toMatchObject({ status: "pending" });
      expect(openMail(createSecretBox(TEST_AUTH_SECRET, MAIL_BOX_PURPOSE), row?.payload ?? "").to).toBe(account.email);
    } finally {
      await hanging.services.outbox.worker.stop(10);
      await hanging.close();
    }
  });
});
