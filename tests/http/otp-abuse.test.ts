import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { accounts } from "../../src/db/tables/accounts.ts";
import type { PasswordHasher } from "../../src/auth/password.ts";
import { createMemoryRateLimitStore } from "../../src/abuse/rate-limit-store.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { sessions } from "../../src/db/tables/sessions.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { createChallenge, lastCodeTo, mailCountTo, otherCode, problemCode, resend, verify } from "../support/otp.ts";
import { bearer, createTestApp, fastHasher, newAccount, parseSetCookies, registerUser, TEST_ORIGIN, type TestApp, type TestAppOptions } from "../support/test-app.ts";

/**
 * One-time codes against an attacker: the account pre-registered by someone else, guessing across challenges,
 * inbox bombing through new challenges, budgets and states spent by requests that are refused.
 * (The test app turns every rate limit off; each test turns on what it checks. An empty value means "unset".)
 */
const apps: TestApp[] = [];
/**
 * An app made inside a test is closed when that test ends, one made in a beforeAll at the end of the file: fourteen
 * apps open at once, each with its pool and outbox worker, would pass PostgreSQL's 100 connections.
 */
async function appWith(env: Record<string, string>, options: TestAppOptions = {}): Promise<TestApp> {
  const app = await createTestApp(env, options);
  try {
    onTestFinished(() => app.close());
  } catch {
    // Not inside a test (vitest refuses the hook in a beforeAll): closed by afterAll.
    apps.push(app);
  }
  return app;
}
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const create = (t: TestApp, to: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  t.request("POST", "/auth/otp/create", { channel: "email", to, purpose: "sign-in", ...extra }, headers);
const login = (t: TestApp, email: string, password: string) => t.request("POST", "/auth/login", { email, password });

describe("an unverified account registered by someone else", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await appWith({});
  });

  it("is taken back by the owner's sign-in code: the registrant's password and sessions stop working", async () => {
    // The attacker registers the victim's address with a password of their own; nobody verified it.
    const attacker = await registerUser(t);
    const { email, password } = attacker.account;
    expect(attacker.user.emailVerified).toBe(false);
    const attackerCookie = `servauth.session=${attacker.cookies["servauth.session"]}`;
    expect((await t.request("GET", "/auth/me", undefined, bearer(attacker.accessToken))).status).toBe(200);

    // The owner signs in with a code from the mailbox.
    const { challenge } = await createChallenge(t, email);
    const owner = await verify(t, challenge, await lastCodeTo(t, email));
    expect(owner.status).toBe(200);
    const signedIn = await owner.json();
    expect(signedIn.user).toMatchObject({ id: attacker.user.id, email, emailVerified: true });

    // Everything the registrant held is gone; the owner's session works.
    expect(await problemCode(await login(t, email, password))).toBe("INVALID_CREDENTIALS");
    expect((await t.request("GET", "/auth/me", undefined, bearer(attacker.accessToken))).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, { cookie: attackerCookie, origin: TEST_ORIGIN })).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken: attacker.refreshToken })).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(signedIn.accessToken))).status).toBe(200);
    const passwords = await t.db.select().from(accounts).where(and(eq(accounts.userId, attacker.user.id), eq(accounts.providerId, "credential")));
    expect(passwords).toEqual([]);

    const [claimed] = await t.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, attacker.user.id), eq(auditEvents.type, "account.claimed")));
    expect(claimed?.payload).toEqual({ via: "otp", passwordRemoved: true, identitiesRemoved: 0, revokedSessions: 1 });
    await t.services.mail.drain();
    expect(t.sentMail.filter((mail) => mail.to === email).map((mail) => mail.subject)).toContain("Your account was secured");

    // The owner can give the account a password of their own.
    expect((await t.request("POST", "/auth/forgot-password", { email })).status).toBe(202);
    await t.services.mail.drain();
    const resetMail = t.sentMail.filter((mail) => mail.to === email && mail.subject === "Reset your password").at(-1);
    const token = tokenFrom(resetMail ?? { text: "" }, "/reset-password");
    const ownPassword = "the owner's own passphrase";
    expect((await t.request("POST", "/auth/reset-password", { token, password: ownPassword })).status).toBe(204);
    expect((await login(t, email, ownPassword)).status).toBe(200);
    expect((await login(t, email, password)).status).toBe(401);
  });

  it("takes back a session the registrant's login made while the claim ran", async () => {
    // The registrant's password check is held open until the owner's claim has committed.
    let hold: Promise<void> | null = null;
    let release = () => {};
    const gatedHasher: PasswordHasher = {
      hash: (password) => fastHasher.hash(password),
      async verify(passwordHash, password) {
        const valid = await fastHasher.verify(passwordHash, password);
        if (hold !== null) await hold;
        return valid;
      },
    };
    const gated = await createTestApp({}, { hasher: gatedHasher });
    apps.push(gated);
    const attacker = await registerUser(gated);
    const { email, password } = attacker.account;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const racingLogin = login(gated, email, password);
    const { challenge } = await createChallenge(gated, email);
    expect((await verify(gated, challenge, await lastCodeTo(gated, email))).status).toBe(200);
    release();
    const raced = await racingLogin;
    expect(raced.status).toBe(401);
    const sessionsLeft = await gated.db.select().from(sessions).where(eq(sessions.userId, attacker.user.id));
    expect(sessionsLeft).toHaveLength(1); // the owner's
    // Only the owner's sign-in is audited as a success.
    const successes = await gated.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, attacker.user.id), eq(auditEvents.type, "login.succeeded")));
    expect(successes.map((event) => event.payload)).toEqual([{ via: "otp" }]);
  });

  it("claims nothing for an address the account no longer has", async () => {
    const { account, user, accessToken } = await registerUser(t);
    const moved = newAccount().email;
    const change = await t.request("PUT", "/auth/me", { email: moved, currentPassword: account.password }, bearer(accessToken));
    expect(change.status).toBe(200);
    expect(await t.services.accountClaims.proveMailbox(user.id, account.email)).toBeNull();
    expect((await login(t, moved, account.password)).status).toBe(200);
  });

  it("leaves a verified account's password and sessions alone", async () => {
    const { account, user, accessToken } = await registerUser(t);
    await t.services.emailVerification.markVerified(user.id, account.email);
    const { challenge } = await createChallenge(t, account.email);
    expect((await verify(t, challenge, await lastCodeTo(t, account.email))).status).toBe(200);
    expect((await login(t, account.email, account.password)).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
    const claims = await t.db.select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, "account.claimed")));
    expect(claims).toEqual([]);
  });
});

describe("guessing across challenges (RATE_LIMIT_OTP_VERIFY_ADDRESS)", () => {
  it("counts every guess against the address, whichever challenge carries it; a refused guess spends no state", async () => {
    const t = await appWith({ RATE_LIMIT_OTP_VERIFY_ADDRESS: "3/1", OTP_RESEND_DELAY: "0" });
    const { account } = await registerUser(t);
    const firstChallenge = await createChallenge(t, account.email);
    const firstCode = await lastCodeTo(t, account.email);
    const wrong = await (await verify(t, firstChallenge.challenge, otherCode(firstCode))).json();
    expect(wrong).toMatchObject({ code: "OTP_INVALID_CODE", attemptsLeft: 4 });
    expect(await problemCode(await verify(t, wrong.challenge, otherCode(firstCode)))).toBe("OTP_INVALID_CODE");
    // A fresh challenge brings a fresh OTP_MAX_ATTEMPTS, but not a fresh budget for the address.
    const secondChallenge = await createChallenge(t, account.email);
    const secondCode = await lastCodeTo(t, account.email);
    expect(await problemCode(await verify(t, secondChallenge.challenge, otherCode(secondCode)))).toBe("OTP_INVALID_CODE");
    const third = await createChallenge(t, account.email);
    const thirdCode = await lastCodeTo(t, account.email);
    const refused = await verify(t, third.challenge, thirdCode);
    expect(refused.status).toBe(429);
    expect(await problemCode(refused)).toBe("RATE_LIMITED");
    // Another address has its own budget.
    const other = await registerUser(t);
    const otherChallenge = await createChallenge(t, other.account.email);
    expect((await verify(t, otherChallenge.challenge, await lastCodeTo(t, other.account.email))).status).toBe(200);
    // The refused state was not spent: once the window has passed, its right code signs in.
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect((await verify(t, third.challenge, thirdCode)).status).toBe(200);
  });
});

describe("replaying a spent state (RATE_LIMIT_OTP_VERIFY_ADDRESS)", () => {
  it("costs the address nothing: only wrong codes on live states count", async () => {
    const t = await appWith({ RATE_LIMIT_OTP_VERIFY_ADDRESS: "2/900" });
    const { account } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const code = await lastCodeTo(t, account.email);
    const wrong = await (await verify(t, challenge, otherCode(code))).json();
    expect(wrong.code).toBe("OTP_INVALID_CODE");
    for (let i = 0; i < 10; i++) expect(await problemCode(await verify(t, challenge, otherCode(code)))).toBe("OTP_CHALLENGE_INVALID");
    expect((await verify(t, wrong.challenge, code)).status).toBe(200);
  });
});

describe("one code per address per OTP_RESEND_DELAY, across challenges", () => {
  let t: TestApp;
  beforeAll(async () => {
    // RATE_LIMIT_OTP_SEND_DELAY unset: it follows OTP_RESEND_DELAY (30 s by default).
    t = await appWith({ RATE_LIMIT_OTP_SEND_DELAY: "" });
  });

  it("refuses a second new challenge for the same address with OTP_RESEND_TOO_SOON and Retry-After", async () => {
    const { account } = await registerUser(t);
    expect((await create(t, account.email)).status).toBe(200);
    const again = await create(t, account.email);
    expect(again.status).toBe(429);
    expect(await problemCode(again)).toBe("OTP_RESEND_TOO_SOON");
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(29);
    expect(Number(again.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(await mailCountTo(t, account.email)).toBe(1);
  });

  it("answers an address without an account the same way (no enumeration through the delay)", async () => {
    const stranger = newAccount().email;
    expect((await create(t, stranger)).status).toBe(200);
    expect(await problemCode(await create(t, stranger))).toBe("OTP_RESEND_TOO_SOON");
  });

  it("charges nothing for switching back to an address the challenge holds, and a refusal keeps the presented challenge", async () => {
    const [ann, bob] = [await registerUser(t), await registerUser(t)];
    const first = await createChallenge(t, ann.account.email);
    const annCode = await lastCodeTo(t, ann.account.email);
    const withBob = await createChallenge(t, bob.account.email, { challenge: first.challenge });
    const backToAnn = await createChallenge(t, ann.account.email, { challenge: withBob.challenge });
    expect(await mailCountTo(t, ann.account.email)).toBe(1);
    // Bob already had his code for this delay: adding him to another challenge is refused, and that challenge survives.
    const other = await createChallenge(t, newAccount().email);
    const refused = await create(t, bob.account.email, { challenge: other.challenge });
    expect(await problemCode(refused)).toBe("OTP_RESEND_TOO_SOON");
    expect((await verify(t, backToAnn.challenge, annCode)).status).toBe(200);
    // No code went to that address (no account), so any code is simply wrong: the state was not spent.
    expect(await problemCode(await verify(t, other.challenge, "000000"))).toBe("OTP_INVALID_CODE");
  });

  it("lets the next code go once the delay has passed, not before", async () => {
    // The delay is a rate-limit window: the store's clock is the test's, so no test waits and none races a busy machine.
    let storeNow = Date.now();
    const quick = await appWith({ RATE_LIMIT_OTP_SEND_DELAY: "", OTP_RESEND_DELAY: "30" }, { rateLimitStore: createMemoryRateLimitStore(() => storeNow) });
    const { account } = await registerUser(quick);
    expect((await create(quick, account.email)).status).toBe(200);
    expect(await problemCode(await create(quick, account.email))).toBe("OTP_RESEND_TOO_SOON");
    storeNow += 29_900;
    expect(await problemCode(await create(quick, account.email))).toBe("OTP_RESEND_TOO_SOON");
    storeNow += 200;
    expect((await create(quick, account.email)).status).toBe(200);
    expect(await mailCountTo(quick, account.email)).toBe(2);
  });
});

describe("RateLimit headers", () => {
  it("advertise the client's own budget, never one keyed by the target address", async () => {
    const t = await appWith({ RATE_LIMIT_OTP_SEND_ADDRESS: "10/900", RATE_LIMIT_OTP_VERIFY_ADDRESS: "10/900", OTP_RESEND_DELAY: "0" });
    const to = newAccount().email;
    const created = await create(t, to);
    expect(created.status).toBe(200);
    expect(created.headers.get("ratelimit")).toBeNull();
    const { challenge } = await created.json();
    expect((await verify(t, challenge, "000000")).headers.get("ratelimit")).toBeNull();
    const withIpRule = await appWith({ RATE_LIMIT_OTP_SEND_ADDRESS: "2/900", RATE_LIMIT_OTP_SEND_IP: "30/900" });
    expect((await create(withIpRule, newAccount().email)).headers.get("ratelimit")).toMatch(/^limit=30, remaining=29, reset=\d+$/);
  });
});

describe("send budgets (RATE_LIMIT_OTP_SEND_ADDRESS) are charged only for a code actually made", () => {
  it("does not charge the victim's address for a verify-email request that fails the ownership check", async () => {
    const t = await appWith({ RATE_LIMIT_OTP_SEND_ADDRESS: "2/900", OTP_RESEND_DELAY: "0" });
    const victim = await registerUser(t);
    const attacker = await registerUser(t);
    for (let i = 0; i < 5; i++) {
      const response = await create(t, victim.account.email, { purpose: "verify-email" }, bearer(attacker.accessToken));
      expect(await problemCode(response)).toBe("VALIDATION_FAILED");
    }
    expect((await create(t, victim.account.email)).status).toBe(200);
    expect((await create(t, victim.account.email)).status).toBe(200);
    expect(await problemCode(await create(t, victim.account.email))).toBe("RATE_LIMITED");
  });

  it("does not charge a resend of a spent state, and answers it OTP_CHALLENGE_INVALID, not OTP_RESEND_TOO_SOON", async () => {
    const t = await appWith({ RATE_LIMIT_OTP_SEND_ADDRESS: "2/900" });
    const { account } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const code = await lastCodeTo(t, account.email);
    // A wrong code spends the state (the answer carries the next one); within the resend delay, resending the
    // spent one is refused as what it is.
    expect(await problemCode(await verify(t, challenge, otherCode(code)))).toBe("OTP_INVALID_CODE");
    for (let i = 0; i < 3; i++) {
      const spent = await resend(t, challenge);
      expect(spent.status).toBe(400);
      expect(await problemCode(spent)).toBe("OTP_CHALLENGE_INVALID");
    }
    expect((await create(t, newAccount().email)).status).toBe(200);
    expect((await create(t, account.email)).status).toBe(200);
  });
});

describe("OTP sign-up (OTP_SIGNUP=true) and RATE_LIMIT_REGISTER_IP", () => {
  it("counts a sign-up by code as a registration; signing in to an existing account is not one", async () => {
    const t = await appWith({ OTP_SIGNUP: "true", RATE_LIMIT_REGISTER_IP: "1/3600" });
    const signInByCode = async (email: string) => verify(t, (await createChallenge(t, email)).challenge, await lastCodeTo(t, email));
    const first = await signInByCode(newAccount().email);
    expect(first.status).toBe(200);
    const second = await signInByCode(newAccount().email);
    expect(second.status).toBe(429);
    expect(await problemCode(second)).toBe("RATE_LIMITED");
    expect((await signInByCode((await first.json()).user.email)).status).toBe(200);
  });
});

describe("a sign-up by code refused by RATE_LIMIT_REGISTER_IP", () => {
  it("hands back the challenge under a fresh id: the same right code signs up once the window has passed", async () => {
    const t = await appWith({ OTP_SIGNUP: "true", RATE_LIMIT_REGISTER_IP: "1/1" });
    const first = newAccount().email;
    expect((await verify(t, (await createChallenge(t, first)).challenge, await lastCodeTo(t, first))).status).toBe(200);
    const second = newAccount().email;
    const { challenge } = await createChallenge(t, second);
    const code = await lastCodeTo(t, second);
    const refused = await verify(t, challenge, code);
    expect(refused.status).toBe(429);
    const problem = await refused.json();
    expect(problem.code).toBe("RATE_LIMITED");
    expect(parseSetCookies(refused)["servauth.otp"]).toBe(problem.challenge);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const retried = await verify(t, problem.challenge, code);
    expect(retried.status).toBe(200);
    expect((await retried.json()).user.email).toBe(second);
  });
});

describe("OTP_MAX_CREDENTIALS", () => {
  it("refuses another address for a live full challenge, but a spent full one starts a new challenge", async () => {
    const t = await appWith({ OTP_MAX_CREDENTIALS: "1", OTP_RESEND_DELAY: "0" });
    const { challenge: spent } = await createChallenge(t, newAccount().email);
    const { challenge: live } = (await (await verify(t, spent, "000000")).json()) as { challenge: string };
    expect(await problemCode(await create(t, newAccount().email, { challenge: live }))).toBe("OTP_TOO_MANY_CREDENTIALS");
    expect((await create(t, newAccount().email, { challenge: spent })).status).toBe(200);
  });

  it("keeps a challenge with 5 addresses of the longest allowed length under a browser's 4 KB cookie limit", async () => {
    const t = await appWith({ OTP_MAX_CREDENTIALS: "5", OTP_RESEND_DELAY: "0" });
    // A 64-character local part and labels of 63, 63 and 62 characters: 255 characters, a valid address.
    const longAddress = (n: number) => `${String(n).padStart(64, "x")}@${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(62)}`;
    let challenge: string | undefined;
    let lastResponse: Response | undefined;
    for (let n = 0; n < 5; n++) {
      const to = longAddress(n);
      expect(to).toHaveLength(255);
      lastResponse = await create(t, to, challenge === undefined ? {} : { challenge });
      expect(lastResponse.status, await lastResponse.clone().text()).toBe(200);
      challenge = (await lastResponse.json()).challenge;
    }
    const cookie = lastResponse?.headers.getSetCookie().find((value) => value.startsWith("servauth.otp=")) ?? "";
    expect(parseSetCookies(lastResponse as Response)["servauth.otp"]).toBe(challenge);
    expect(cookie.length).toBeLessThan(4096);
    expect(await problemCode(await create(t, longAddress(5), { challenge: challenge as string }))).toBe("OTP_TOO_MANY_CREDENTIALS");
  });
});
