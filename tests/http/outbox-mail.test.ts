import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { outboxAttempts, outboxMessages } from "../../src/db/tables/outbox.ts";
import type { Mailer, MailMessage } from "../../src/delivery/mailer.ts";
import { AppError } from "../../src/errors.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMailOutbox } from "../../src/outbox/mail-outbox.ts";
import { MAIL_BOX_PURPOSE, openMail } from "../../src/outbox/mail-channel.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
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

describe("compose jobs (requests whose answer must not tell whether a mail goes out)", () => {
  /** A compose job that runs until released; `started` says whether the outbox has begun it. */
  function heldJob(to: string) {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = {
      started: false,
      release: () => release(),
      build: async () => {
        job.started = true;
        await held;
        return { to, subject: "s", text: "t", html: "h" };
      },
    };
    return job;
  }
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  function smallOutbox() {
    let dropped = 0;
    const outbox = createMailOutbox({
      db: t.db,
      store: t.services.outboxStore,
      box: createSecretBox(TEST_AUTH_SECRET, MAIL_BOX_PURPOSE),
      worker: t.services.outbox.worker,
      wake: t.services.outbox.wake,
      logger: createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } }),
      now: () => current,
      compose: { running: 2, waiting: 2 },
      onComposeDropped: () => dropped++,
    });
    return { outbox, dropped: () => dropped };
  }

  it("run nothing on the request's turn; at most two run at once, two wait, and one past those is dropped, logged and counted", async () => {
    const { outbox, dropped } = smallOutbox();
    const jobs = ["a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"].map(heldJob);
    for (const job of jobs) outbox.compose(job.build);
    expect(jobs.some((job) => job.started)).toBe(false);
    await nextTurn();

    expect(jobs.map((job) => job.started)).toEqual([true, true, false, false, false]);
    expect(dropped()).toBe(1);
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining("job dropped") })]);

    jobs[0]?.release();
    await expect.poll(() => jobs[2]?.started).toBe(true);
    expect(jobs[3]?.started).toBe(false);

    for (const job of jobs) job.release();
    await outbox.drain();
    expect(mailer.sent.map((sent) => sent.to).sort()).toEqual(["a@x.test", "b@x.test", "c@x.test", "d@x.test"]);
    expect(jobs[4]?.started).toBe(false);
  });

  it("an expected refusal while composing (a username taken meanwhile) is logged at info, a fault at error; nothing is written", async () => {
    const { outbox } = smallOutbox();
    const before = (await t.db.select().from(outboxMessages)).length;
    outbox.compose(async () => {
      throw new AppError("USERNAME_TAKEN");
    });
    outbox.compose(async () => {
      throw new Error("database gone");
    });
    await outbox.drain();

    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: "mail not composed; nothing was sent", code: "USERNAME_TAKEN" }),
      expect.objectContaining({ level: 50, msg: "mail not composed; nothing was sent" }),
    ]);
    expect(await t.db.select().from(outboxMessages)).toHaveLength(before);
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
