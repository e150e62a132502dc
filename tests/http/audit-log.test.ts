import { and, eq, isNull } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import type { MailMessage } from "../../src/delivery/mailer.ts";
import { createChallenge, lastCodeTo, otherCode, verify } from "../support/otp.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_CLIENT_IP, type TestApp } from "../support/test-app.ts";

type AuditPage = {
  events: Array<{ id: string; type: string; createdAt: string; sessionId: string | null; ipAddress: string | null; userAgent: string | null; payload: Record<string, unknown> }>;
  nextCursor: string | null;
};

const apps: TestApp[] = [];
async function appWith(env: Record<string, string> = {}) {
  const app = await createTestApp(env);
  apps.push(app);
  return app;
}
// Each test's apps go when it ends: on PostgreSQL every app holds a pool, and the file's tests together would
// otherwise hold more connections than the server allows.
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function auditPage(t: TestApp, accessToken: string, query = ""): Promise<AuditPage> {
  const response = await t.request("GET", `/auth/audit${query}`, undefined, bearer(accessToken));
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as AuditPage;
}

/** Every page of the caller's trail, `limit` events at a time, following nextCursor to the end. */
async function everyPage(t: TestApp, accessToken: string, limit: number): Promise<AuditPage[]> {
  const pages: AuditPage[] = [];
  let after: string | null = null;
  do {
    const page: AuditPage = await auditPage(t, accessToken, `?limit=${limit}${after === null ? "" : `&after=${after}`}`);
    pages.push(page);
    after = page.nextCursor;
  } while (after !== null);
  return pages;
}

async function recordedTypes(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.db.select({ type: auditEvents.type }).from(auditEvents).where(eq(auditEvents.userId, userId));
  return rows.map((row) => row.type);
}

/** The newest mail to `to` with this subject, once the background queue has sent it. */
async function mailTo(t: TestApp, to: string, subject: string): Promise<MailMessage> {
  const find = () => t.sentMail.filter((mail) => mail.to === to && mail.subject === subject).at(-1);
  await expect.poll(() => find() !== undefined).toBe(true);
  return find() as MailMessage;
}

const login = (t: TestApp, email: string, password: string) => t.request("POST", "/auth/login", { email, password });

describe("GET /auth/audit", () => {
  it("pages through the caller's own events, newest first, and nobody else's", async () => {
    const t = await appWith();
    const ann = await registerUser(t);
    expect((await login(t, ann.account.email, "not the password at all")).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await login(t, ann.account.email, ann.account.password)).status).toBe(200);
    const bob = await registerUser(t);

    const pages = await everyPage(t, ann.accessToken, 2);
    for (const page of pages) expect(page.events.length).toBeLessThanOrEqual(2);
    const seen = pages.flatMap((page) => page.events);

    expect(seen.map((event) => event.type).sort()).toEqual((await recordedTypes(t, ann.user.id)).sort());
    expect(seen.map((event) => event.type)).toEqual(["login.succeeded", "login.succeeded", "login.succeeded", "login.failed", "user.registered"]);
    expect(new Set(seen.map((event) => event.id)).size).toBe(seen.length);
    const times = seen.map((event) => Date.parse(event.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen[0]).toMatchObject({ ipAddress: TEST_CLIENT_IP, payload: {} });
    // The login's session (see "an event's session" below).
    expect(seen[0]?.sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const bobsNewest = (await auditPage(t, bob.accessToken)).events[0];
    expect(bobsNewest?.type).toBe("user.registered");
    // Someone else's event id is no cursor into their trail.
    expect(await auditPage(t, ann.accessToken, `?after=${bobsNewest?.id}`)).toEqual({ events: [], nextCursor: null });
    expect((await auditPage(t, ann.accessToken, "?limit=100")).nextCursor).toBeNull();
  });

  it("orders events with the same timestamp by when they were written, on every page", async () => {
    const t = await appWith();
    const { user, accessToken } = await registerUser(t);
    // One transaction: every row gets its start time as created_at, the tie a busy millisecond makes on PGlite.
    const written = ["user.updated", "password.changed", "session.revoked", "email.verified", "user.updated"] as const;
    await t.db.transaction(async (tx) => {
      for (const type of written) await t.services.audit.recordIn(tx, type, { userId: user.id }, SYSTEM_AUDIT_CONTEXT);
    });
    const seen = (await everyPage(t, accessToken, 2)).flatMap((page) => page.events);
    expect(seen.map((event) => event.type)).toEqual([...[...written].reverse(), "user.registered"]);
  });

  it("answers 400 for a bad page size or cursor, and 401 without credentials", async () => {
    const t = await appWith();
    const { accessToken } = await registerUser(t);
    for (const query of ["?limit=0", "?limit=101", "?limit=ten", "?limit=2.5", "?after=not-a-uuid"]) {
      const response = await t.request("GET", `/auth/audit${query}`, undefined, bearer(accessToken));
      expect(response.status, query).toBe(400);
      expect((await response.json()).code).toBe("VALIDATION_FAILED");
    }
    expect((await t.request("GET", "/auth/audit")).status).toBe(401);
  });
});

describe("an event's session", () => {
  async function sessionOf(t: TestApp, accessToken: string): Promise<string> {
    const response = await t.request("GET", "/auth/me", undefined, bearer(accessToken));
    return ((await response.json()) as { session: { id: string } }).session.id;
  }

  /** @see issue 13, item 15: login.succeeded and user.updated used to carry sessionId null. */
  it("every event done in a session, or that makes one (registration, login, code sign-in, refresh), carries its id", async () => {
    const t = await appWith({ ACCOUNT_DELETION_GRACE: "3600" });
    const { user, account, accessToken: registered } = await registerUser(t);
    expect((await t.request("PUT", "/auth/me", { username: `s${Date.now().toString(36)}` }, bearer(registered))).status).toBe(200);
    // A verified address: the code sign-in below then does not claim the account (which would end the other sessions).
    const verifyToken = tokenFrom(await mailTo(t, account.email, "Confirm your email address"), "/verify-email");
    expect((await t.request("POST", "/auth/verify-email", { token: verifyToken })).status).toBe(200);

    const loggedIn = (await (await login(t, account.email, account.password)).json()) as { accessToken: string; refreshToken: string };
    const challenge = await createChallenge(t, account.email);
    const byCode = await verify(t, challenge.challenge, await lastCodeTo(t, account.email));
    expect(byCode.status).toBe(200);
    const { accessToken: codeAccess } = (await byCode.json()) as { accessToken: string };
    const refreshed = await t.request("POST", "/auth/refresh", { refreshToken: loggedIn.refreshToken });
    expect(refreshed.status).toBe(200);
    const { accessToken: current } = (await refreshed.json()) as { accessToken: string };

    const sessions = {
      registered: await sessionOf(t, registered),
      login: await sessionOf(t, current),
      code: await sessionOf(t, codeAccess),
    };
    const { events } = await auditPage(t, current, "?limit=100");
    const sessionOfEvent = (type: string, via?: string) =>
      events.filter((event) => event.type === type && (via === undefined || event.payload.via === via)).map((event) => event.sessionId);
    expect(sessionOfEvent("user.registered")).toEqual([sessions.registered]);
    expect(sessionOfEvent("user.updated")).toEqual([sessions.registered]);
    expect(sessionOfEvent("login.succeeded", "otp")).toEqual([sessions.code]);
    expect(events.filter((event) => event.type === "login.succeeded" && event.payload.via === undefined).map((event) => event.sessionId)).toEqual([sessions.login]);
    expect(sessionOfEvent("token.refreshed")).toEqual([sessions.login]);

    expect((await t.request("DELETE", "/auth/me", { password: account.password }, bearer(codeAccess))).status).toBe(202);
    const [scheduled] = await t.db.select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, "account.deletion_scheduled")));
    expect(scheduled?.sessionId).toBe(sessions.code);
  });
});

describe("audit_events", () => {
  it("records every security event of an account's life, with no secret in any payload", async () => {
    const t = await appWith({ REFRESH_GRACE_SECONDS: "0", MAX_SESSIONS_PER_USER: "2", ACCOUNT_DELETION_GRACE: "3600" });
    const { user, account, accessToken: firstAccess } = await registerUser(t);
    const { email } = account;
    let password = account.password;
    const secrets: string[] = [password];

    expect((await t.request("POST", "/auth/resend-verification", { email })).status).toBe(202);
    const verifyToken = tokenFrom(await mailTo(t, email, "Confirm your email address"), "/verify-email");
    secrets.push(verifyToken);
    expect((await t.request("POST", "/auth/verify-email", { token: verifyToken })).status).toBe(200);

    expect((await login(t, email, "not the password at all")).status).toBe(401);
    // Two more sessions with a cap of two: the first one is evicted.
    const second = await login(t, email, password);
    const third = await login(t, email, password);
    const { refreshToken, accessToken } = (await third.json()) as { refreshToken: string; accessToken: string };
    secrets.push(refreshToken, accessToken, firstAccess);
    expect((await t.request("GET", "/auth/me", undefined, bearer(firstAccess))).status).toBe(401);

    const refreshed = await t.request("POST", "/auth/refresh", { refreshToken });
    expect(refreshed.status).toBe(200);
    secrets.push(((await refreshed.json()) as { refreshToken: string }).refreshToken);
    // No grace: presenting the replaced token again is theft, and ends that session.
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);

    const { accessToken: current } = (await (await login(t, email, password)).json()) as { accessToken: string };
    const { accessToken: secondAccess } = (await second.json()) as { accessToken: string };
    const secondSession = (await (await t.request("GET", "/auth/me", undefined, bearer(secondAccess))).json()) as { session: { id: string } };
    expect((await t.request("DELETE", `/auth/sessions/${secondSession.session.id}`, undefined, bearer(current))).status).toBe(204);

    expect((await t.request("PUT", "/auth/me", { username: `audited${Date.now().toString(36)}` }, bearer(current))).status).toBe(200);
    const changed = "an entirely new passphrase";
    expect((await t.request("POST", "/auth/change-password", { currentPassword: password, newPassword: changed }, bearer(current))).status).toBe(204);
    password = changed;

    expect((await t.request("POST", "/auth/forgot-password", { email })).status).toBe(202);
    const resetToken = tokenFrom(await mailTo(t, email, "Reset your password"), "/reset-password");
    password = "a passphrase set by reset";
    expect((await t.request("POST", "/auth/reset-password", { token: resetToken, password })).status).toBe(204);
    secrets.push(resetToken, changed, password);

    const { accessToken: doomed } = (await (await login(t, email, password)).json()) as { accessToken: string };
    expect((await t.request("DELETE", "/auth/me", { password }, bearer(doomed))).status).toBe(202);
    const cancelToken = tokenFrom(await mailTo(t, email, "Your account will be deleted"), "/cancel-deletion");
    secrets.push(cancelToken);
    expect((await t.request("POST", "/auth/cancel-deletion", { token: cancelToken })).status).toBe(200);

    const { accessToken: last } = (await (await login(t, email, password)).json()) as { accessToken: string };
    expect((await t.request("POST", "/auth/logout", undefined, bearer(last))).status).toBe(204);

    const types = new Set(await recordedTypes(t, user.id));
    for (const type of [
      "user.registered",
      "email.verification_sent",
      "email.verified",
      "login.failed",
      "login.succeeded",
      "session.evicted",
      "token.refreshed",
      "token.refresh_reused",
      "session.revoked",
      "user.updated",
      "password.changed",
      "password.reset_requested",
      "password.reset",
      "account.deletion_scheduled",
      "account.deletion_cancelled",
      "logout",
    ]) {
      expect(types, type).toContain(type);
    }
    const everything = JSON.stringify(await t.db.select().from(auditEvents));
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it("records a lockout with its rule, once per window", async () => {
    const t = await appWith({ RATE_LIMIT_LOGIN_ACCOUNT: "2/900" });
    const { account } = await registerUser(t);
    for (let i = 0; i < 2; i++) expect((await login(t, account.email, "not the password at all")).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await login(t, account.email, account.password)).status).toBe(429);
    const locked = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "account.locked"));
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ payload: { rule: "loginAccount" }, ipAddress: TEST_CLIENT_IP });
  });

  it("records the deletion sweep's deletions, with no request behind them", async () => {
    const t = await appWith({ ACCOUNT_DELETION_GRACE: "1", DELETION_SWEEP_INTERVAL: "1" });
    const { user, account, accessToken } = await registerUser(t);
    expect((await t.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken))).status).toBe(202);
    const deleted = () =>
      t.db.select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, "user.deleted"), isNull(auditEvents.requestId)));
    await expect.poll(async () => (await deleted()).length, { timeout: 5_000, interval: 100 }).toBe(1);
    expect((await deleted())[0]?.payload).toEqual({ via: "deletion sweep" });
  });

  it("with REQUIRE_EMAIL_VERIFICATION, records a sign-up attempt with a taken email on the owner's trail", async () => {
    const t = await appWith({ REQUIRE_EMAIL_VERIFICATION: "true" });
    const owner = newAccount();
    expect((await t.request("POST", "/auth/register", owner)).status).toBe(202);
    await t.services.mail.drain();
    expect((await t.request("POST", "/auth/register", { ...owner, password: "someone else's password" })).status).toBe(202);
    await t.services.mail.drain();
    const [row] = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "user.registration_attempted"));
    const [registered] = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "user.registered"));
    expect(row?.userId).toBe(registered?.userId);
  });

  it("records one-time code events: sent, failed, burned and verified", async () => {
    const t = await appWith({ OTP_MAX_ATTEMPTS: "2" });
    const { user, account } = await registerUser(t);
    const typesOf = async () => (await t.db.select({ type: auditEvents.type }).from(auditEvents)).map((row) => row.type).filter((type) => type.startsWith("otp."));

    const burned = await createChallenge(t, account.email);
    const code = await lastCodeTo(t, account.email);
    const wrong = await verify(t, burned.challenge, otherCode(code));
    expect(wrong.status).toBe(400);
    const { challenge: next } = (await wrong.json()) as { challenge: string };
    expect((await verify(t, next, otherCode(code))).status).toBe(400);
    expect(await typesOf()).toEqual(["otp.sent", "otp.failed", "otp.burned"]);

    const fresh = await createChallenge(t, account.email);
    expect((await verify(t, fresh.challenge, await lastCodeTo(t, account.email))).status).toBe(200);
    expect(await typesOf()).toEqual(["otp.sent", "otp.failed", "otp.burned", "otp.sent", "otp.verified"]);
    const [verified] = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "otp.verified"));
    expect(verified).toMatchObject({ userId: user.id, payload: { purpose: "sign-in" } });
    expect(JSON.stringify(await t.db.select().from(auditEvents))).not.toContain(code);
  });
});
