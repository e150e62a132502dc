import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/tables/users.ts";
import { createSmtpMailer } from "../../src/delivery/smtp-mailer.ts";
import { useMovableClock } from "../support/clock.ts";
import { startSmtpCapture, type SmtpCapture, tokenFrom } from "../support/smtp-capture.ts";
import { bearer, createTestApp, newAccount, parseSetCookies, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

const clock = useMovableClock();

let smtp: SmtpCapture;
const apps: TestApp[] = [];

/** A test app whose mail goes over real SMTP to the capture server. */
async function appWith(env: Record<string, string> = {}) {
  const app = await createTestApp(env, { mailer: createSmtpMailer(smtp.url, "Servauth <no-reply@servauth.test>") });
  apps.push(app);
  return app;
}

let t: TestApp;
beforeAll(async () => {
  smtp = await startSmtpCapture();
  t = await appWith();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await smtp.close();
});

const login = (app: TestApp, email: string, password: string) => app.request("POST", "/auth/login", { email, password });

async function resetToken(app: TestApp, email: string) {
  expect((await app.request("POST", "/auth/forgot-password", { email })).status).toBe(202);
  const mail = await smtp.waitFor(email, (m) => m.subject === "Reset your password" && !used.has(m));
  used.add(mail);
  expect(mail.html).toContain(`${TEST_ORIGIN}/reset-password?token=`);
  return tokenFrom(mail, "/reset-password");
}
const used = new Set<unknown>();

describe("password reset", () => {
  it("mails a link whose token sets a new password and ends every session", async () => {
    const { account, accessToken } = await registerUser(t);
    const token = await resetToken(t, account.email);
    const reset = await t.request("POST", "/auth/reset-password", { token, password: "a brand new password" });
    expect(reset.status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    expect((await login(t, account.email, account.password)).status).toBe(401);
    expect((await login(t, account.email, "a brand new password")).status).toBe(200);
  });

  it("refuses a used token, and of two parallel uses lets exactly one through", async () => {
    const { account } = await registerUser(t);
    const token = await resetToken(t, account.email);
    const parallel = await Promise.all([
      t.request("POST", "/auth/reset-password", { token, password: "first new password" }),
      t.request("POST", "/auth/reset-password", { token, password: "second new password" }),
    ]);
    expect(parallel.map((r) => r.status).sort()).toEqual([204, 400]);
    const again = await t.request("POST", "/auth/reset-password", { token, password: "third new password" });
    expect(again.status).toBe(400);
    expect((await again.json()).code).toBe("INVALID_TOKEN");
  });

  it("refuses an expired token", async () => {
    const short = await appWith({ RESET_TOKEN_TTL: "1" });
    const { account } = await registerUser(short);
    const token = await resetToken(short, account.email);
    clock.advance(1100);
    const response = await short.request("POST", "/auth/reset-password", { token, password: "too late password" });
    expect((await response.json()).code).toBe("INVALID_TOKEN");
    expect((await login(short, account.email, account.password)).status).toBe(200);
  });

  it("answers an unknown email exactly like a known one, and mails nobody", async () => {
    const unknown = newAccount().email;
    const response = await t.request("POST", "/auth/forgot-password", { email: unknown });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({});
    const { account } = await registerUser(t);
    await resetToken(t, account.email); // a later mail has arrived, so the first one would have too
    expect(smtp.received.some((mail) => mail.to.includes(unknown))).toBe(false);
  });

  it.each([
    ["a malformed token", { token: "not a token!", password: "long enough pw" }, "VALIDATION_FAILED"],
    ["a short password", { token: "A".repeat(32), password: "short" }, "VALIDATION_FAILED"],
    ["an unknown token", { token: "A".repeat(32), password: "long enough pw" }, "INVALID_TOKEN"],
  ])("answers 400 for %s", async (_name, body, code) => {
    const response = await t.request("POST", "/auth/reset-password", body);
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe(code);
  });

  it("answers 400 for a malformed forgot-password body", async () => {
    expect((await t.request("POST", "/auth/forgot-password", { email: "nope" })).status).toBe(400);
  });
});

describe("email verification", () => {
  it("mails a link on registration whose token verifies the address, once", async () => {
    const { account } = await registerUser(t);
    const mail = await smtp.waitFor(account.email, (m) => m.subject === "Confirm your email address");
    const token = tokenFrom(mail, "/verify-email");
    const [first, second] = await Promise.all([
      t.request("POST", "/auth/verify-email", { token }),
      t.request("POST", "/auth/verify-email", { token }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 400]);
    const winner = first.status === 200 ? first : second;
    expect((await winner.json()).user).toMatchObject({ email: account.email, emailVerified: true });
  });

  it("resends to an unverified address, and to an unknown one answers the same and mails nobody", async () => {
    const { account } = await registerUser(t);
    await smtp.waitFor(account.email, (m) => m.subject === "Confirm your email address");
    expect((await t.request("POST", "/auth/resend-verification", { email: account.email })).status).toBe(202);
    const unknown = newAccount().email;
    const response = await t.request("POST", "/auth/resend-verification", { email: unknown });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({});
    await expect
      .poll(() => smtp.received.filter((m) => m.to.includes(account.email) && m.subject === "Confirm your email address").length)
      .toBe(2);
    expect(smtp.received.some((mail) => mail.to.includes(unknown))).toBe(false);
  });

  it("with REQUIRE_EMAIL_VERIFICATION, registers without tokens and refuses the password until verified", async () => {
    const gated = await appWith({ REQUIRE_EMAIL_VERIFICATION: "true" });
    const account = newAccount();
    const registered = await gated.request("POST", "/auth/register", account);
    expect(registered.status).toBe(202);
    expect(await registered.json()).toEqual({});
    expect(parseSetCookies(registered)).toEqual({});

    // The right password answers like a wrong one until the mailbox is proven: anyone can register a free address
    // with a password of their own, so any other answer would tell them the address was free.
    const mail = await smtp.waitFor(account.email, (m) => m.subject === "Confirm your email address");
    const refused = await login(gated, account.email, account.password);
    expect(refused.status).toBe(401);
    expect((await refused.json()).code).toBe("INVALID_CREDENTIALS");

    expect((await gated.request("POST", "/auth/verify-email", { token: tokenFrom(mail, "/verify-email") })).status).toBe(200);
    expect((await login(gated, account.email, account.password)).status).toBe(200);
  });

  it("with REQUIRE_EMAIL_VERIFICATION, a taken email gets a fresh sign-up's answer and its owner a warning", async () => {
    const gated = await appWith({ REQUIRE_EMAIL_VERIFICATION: "true" });
    const owner = newAccount();
    expect((await gated.request("POST", "/auth/register", owner)).status).toBe(202);
    const confirm = await smtp.waitFor(owner.email, (m) => m.subject === "Confirm your email address");
    const [ownerRow] = await gated.db.select().from(users).where(eq(users.email, owner.email));

    const fresh = await gated.request("POST", "/auth/register", newAccount());
    const taken = await gated.request("POST", "/auth/register", { email: owner.email.toUpperCase(), password: "another long password" });
    expect(taken.status).toBe(fresh.status);
    expect(parseSetCookies(taken)).toEqual({});
    expect(await taken.json()).toEqual(await fresh.json());

    const warning = await smtp.waitFor(owner.email, (m) => m.subject === "Someone tried to register with your email address");
    expect(warning.text).toContain("No new account was created");
    // The owner's account is untouched: still one user, and the owner's password still works once verified.
    const rows = await gated.db.select().from(users).where(eq(users.email, owner.email));
    expect(rows.map((row) => row.id)).toEqual([ownerRow?.id]);
    expect((await gated.request("POST", "/auth/verify-email", { token: tokenFrom(confirm, "/verify-email") })).status).toBe(200);
    expect((await login(gated, owner.email, owner.password)).status).toBe(200);
    expect((await login(gated, owner.email, "another long password")).status).toBe(401);

  });

  it("answers 400 INVALID_TOKEN for an unknown token", async () => {
    const response = await t.request("POST", "/auth/verify-email", { token: "B".repeat(43) });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_TOKEN");
  });
});

describe("email change", () => {
  it("mails a verification to the new address and a notice to the old one; an old link no longer verifies", async () => {
    const { account, accessToken } = await registerUser(t);
    const firstLink = await smtp.waitFor(account.email, (m) => m.subject === "Confirm your email address");
    const newEmail = newAccount().email;
    const response = await t.request("PUT", "/auth/me", { email: newEmail, currentPassword: account.password }, bearer(accessToken));
    expect(response.status).toBe(200);
    const notice = await smtp.waitFor(account.email, (m) => m.subject === "Your email address was changed");
    expect(notice.text).toContain(newEmail);
    const verification = await smtp.waitFor(newEmail, (m) => m.subject === "Confirm your email address");
    const stale = await t.request("POST", "/auth/verify-email", { token: tokenFrom(firstLink, "/verify-email") });
    expect(stale.status).toBe(400);
    const fresh = await t.request("POST", "/auth/verify-email", { token: tokenFrom(verification, "/verify-email") });
    expect((await fresh.json()).user).toMatchObject({ email: newEmail, emailVerified: true });
  });
});

describe("POST /auth/change-password", () => {
  it("changes the password; the old one fails afterwards", async () => {
    const { account, accessToken } = await registerUser(t);
    const response = await t.request(
      "POST",
      "/auth/change-password",
      { currentPassword: account.password, newPassword: "changed password 1" },
      bearer(accessToken),
    );
    expect(response.status).toBe(204);
    expect((await login(t, account.email, account.password)).status).toBe(401);
    expect((await login(t, account.email, "changed password 1")).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
    await smtp.waitFor(account.email, (m) => m.subject === "Your password was changed");
  });

  it("ends the other sessions when asked, and keeps the current one", async () => {
    const { account, accessToken } = await registerUser(t);
    const other = await (await login(t, account.email, account.password)).json();
    const body = { currentPassword: account.password, newPassword: "changed password 2", revokeOtherSessions: true };
    expect((await t.request("POST", "/auth/change-password", body, bearer(accessToken))).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  it("answers 401 for a wrong current password, 400 for a short new one, 401 without credentials", async () => {
    const { accessToken } = await registerUser(t);
    const wrong = await t.request("POST", "/auth/change-password", { currentPassword: "nope nope", newPassword: "long enough 1" }, bearer(accessToken));
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).code).toBe("INVALID_CREDENTIALS");
    const short = await t.request("POST", "/auth/change-password", { currentPassword: "whatever1", newPassword: "short" }, bearer(accessToken));
    expect(short.status).toBe(400);
    expect((await t.request("POST", "/auth/change-password", { currentPassword: "a", newPassword: "long enough 1" })).status).toBe(401);
  });
});

describe("account deletion with a grace period", () => {
  it("schedules, ends sessions, refuses login, and is cancelled by the mailed token", async () => {
    const graceful = await appWith({ ACCOUNT_DELETION_GRACE: "3600" });
    const { account, accessToken, user } = await registerUser(graceful);
    const response = await graceful.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken));
    expect(response.status).toBe(202);
    const { deletionScheduledAt } = await response.json();
    expect(Date.parse(deletionScheduledAt)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await graceful.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    const refused = await login(graceful, account.email, account.password);
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("ACCOUNT_PENDING_DELETION");

    const mail = await smtp.waitFor(account.email, (m) => m.subject === "Your account will be deleted");
    const token = tokenFrom(mail, "/cancel-deletion");
    const cancelled = await graceful.request("POST", "/auth/cancel-deletion", { token });
    expect(cancelled.status).toBe(200);
    expect((await cancelled.json()).user.id).toBe(user.id);
    expect((await login(graceful, account.email, account.password)).status).toBe(200);
    expect((await graceful.request("POST", "/auth/cancel-deletion", { token })).status).toBe(400);
  });

  it("deletes the account once the grace has passed", async () => {
    const quick = await appWith({ ACCOUNT_DELETION_GRACE: "1", DELETION_SWEEP_INTERVAL: "1" });
    const { account, accessToken, user } = await registerUser(quick);
    expect((await quick.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken))).status).toBe(202);
    const remaining = async () => (await quick.db.select({ id: users.id }).from(users).where(eq(users.id, user.id))).length;
    expect(await remaining()).toBe(1);
    await expect.poll(remaining, { timeout: 5000, interval: 100 }).toBe(0);
    expect((await login(quick, account.email, account.password)).status).toBe(401);
  });

  it("answers a wrong password with 401 and schedules nothing", async () => {
    const graceful = await appWith({ ACCOUNT_DELETION_GRACE: "3600" });
    const { accessToken } = await registerUser(graceful);
    expect((await graceful.request("DELETE", "/auth/me", { password: "wrong password" }, bearer(accessToken))).status).toBe(401);
    expect((await graceful.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });
});

describe("mail delivery", () => {
  it("retries a failed send and never changes the answer", async () => {
    const { account } = await registerUser(t);
    smtp.failNext(2);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    await smtp.waitFor(account.email, (m) => m.subject === "Reset your password");
  });

  it("still answers 202 when the SMTP server is down", async () => {
    const down = await createTestApp({}, { mailer: createSmtpMailer("smtp://127.0.0.1:9", "Servauth <no-reply@servauth.test>") });
    apps.push(down);
    const { account } = await registerUser(down);
    const started = Date.now();
    expect((await down.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
