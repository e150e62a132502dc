import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, newAccount, parseSetCookies, registerUser, TEST_ORIGIN, bearer, type TestApp } from "../support/test-app.ts";
import { createChallenge, lastCodeTo, mailCountTo, otherCode, problemCode, resend, verify } from "../support/otp.ts";

/** Issue 5's contract rows, one by one. The failures of the reference design are in otp-failures.test.ts. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const COOKIE = "servauth.otp";

describe("POST /auth/otp/create", () => {
  it("mails a 6-digit code, answers {expiresAt, resendAvailableAt, challenge} and sets a strict HttpOnly cookie", async () => {
    const { account } = await registerUser(t);
    const before = Date.now();
    const response = await t.request("POST", "/auth/otp/create", { channel: "email", to: account.email, purpose: "sign-in" });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(["challenge", "expiresAt", "resendAvailableAt"]);
    expect(Date.parse(body.expiresAt) - before).toBeGreaterThan(299_000);
    expect(Date.parse(body.expiresAt) - before).toBeLessThan(302_000);
    expect(Date.parse(body.resendAvailableAt) - before).toBeGreaterThan(29_000);
    const header = response.headers.getSetCookie().find((value) => value.startsWith(`${COOKIE}=`)) ?? "";
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Path=\//);
    expect(parseSetCookies(response)[COOKIE]).toBe(body.challenge);
    const code = await lastCodeTo(t, account.email);
    expect(code).toMatch(/^\d{6}$/);
    const mail = t.sentMail.at(-1);
    expect(mail?.subject).not.toContain(code);
    expect(body.challenge).not.toContain(code);
  });

  it("answers an unknown address exactly like a known one, and mails it nothing (OTP_SIGNUP=false)", async () => {
    const { account } = await registerUser(t);
    const unknown = newAccount().email;
    const known = await t.request("POST", "/auth/otp/create", { channel: "email", to: account.email, purpose: "sign-in" });
    const stranger = await t.request("POST", "/auth/otp/create", { channel: "email", to: unknown, purpose: "sign-in" });
    expect(stranger.status).toBe(known.status);
    const [a, b] = [await known.json(), await stranger.json()];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(b.challenge.length).toBeGreaterThan(0);
    expect(await mailCountTo(t, unknown)).toBe(0);
    // No code was sent, so none can pass: every guess is simply wrong.
    const guess = await verify(t, b.challenge, "000000");
    expect(await problemCode(guess)).toBe("OTP_INVALID_CODE");
  });

  it.each([
    ["an unknown channel", { channel: "sms", to: "a@example.com", purpose: "sign-in" }],
    ["an unknown purpose", { channel: "email", to: "a@example.com", purpose: "reset" }],
    ["a malformed address", { channel: "email", to: "nope", purpose: "sign-in" }],
  ])("refuses %s with VALIDATION_FAILED", async (_name, body) => {
    expect(await problemCode(await t.request("POST", "/auth/otp/create", body))).toBe("VALIDATION_FAILED");
  });
});

describe("POST /auth/otp/verify, purpose sign-in", () => {
  it("signs in with the mailed code through the cookie, like login, and clears the challenge cookie", async () => {
    const { account, user } = await registerUser(t);
    const created = await t.request("POST", "/auth/otp/create", { channel: "email", to: account.email, purpose: "sign-in" });
    const cookie = `${COOKIE}=${parseSetCookies(created)[COOKIE]}`;
    const code = await lastCodeTo(t, account.email);
    const response = await t.request("POST", "/auth/otp/verify", { code }, { cookie, origin: TEST_ORIGIN });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ user: { id: user.id, email: account.email }, tokenType: "Bearer", expiresIn: 900 });
    expect(Object.keys(body).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType", "user"]);
    const cookies = parseSetCookies(response);
    expect(cookies["servauth.session"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies[COOKIE]).toBe("");
    expect((await t.request("GET", "/auth/me", undefined, bearer(body.accessToken))).status).toBe(200);
  });

  it("signs in API clients with the challenge string in the body", async () => {
    const { account, user } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const response = await verify(t, challenge, await lastCodeTo(t, account.email));
    expect(response.status).toBe(200);
    expect((await response.json()).user.id).toBe(user.id);
  });

  it("creates a verified, passwordless user on first sign-in with OTP_SIGNUP=true", async () => {
    const open = await createTestApp({ OTP_SIGNUP: "true" });
    try {
      const email = newAccount().email;
      const { challenge } = await createChallenge(open, email);
      const response = await verify(open, challenge, await lastCodeTo(open, email));
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.user).toMatchObject({ email, emailVerified: true });
      // That account has no password.
      expect((await open.request("POST", "/auth/login", { email, password: "correct horse battery staple" })).status).toBe(401);
    } finally {
      await open.close();
    }
  });

  it("follows login's rules: an account pending deletion is refused after a correct code", async () => {
    const graceful = await createTestApp({ ACCOUNT_DELETION_GRACE: "3600" });
    try {
      const { account, accessToken } = await registerUser(graceful);
      expect((await graceful.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken))).status).toBe(202);
      const { challenge } = await createChallenge(graceful, account.email);
      const response = await verify(graceful, challenge, await lastCodeTo(graceful, account.email));
      expect(response.status).toBe(403);
      expect(await problemCode(response)).toBe("ACCOUNT_PENDING_DELETION");
    } finally {
      await graceful.close();
    }
  });

  it.each(["12345", "1234567", "12345a", " 123456", "123456\n", "١٢٣٤٥٦", "+12345", "1e5000"])(
    "refuses the malformed code %j with VALIDATION_FAILED, without spending the state",
    async (malformed) => {
      const { account } = await registerUser(t);
      const { challenge } = await createChallenge(t, account.email);
      expect(await problemCode(await verify(t, challenge, malformed))).toBe("VALIDATION_FAILED");
      expect((await verify(t, challenge, await lastCodeTo(t, account.email))).status).toBe(200);
    },
  );

  it("answers a wrong code with OTP_INVALID_CODE, attemptsLeft and the next state; the right code then passes on it", async () => {
    const { account } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const code = await lastCodeTo(t, account.email);
    const wrong = await verify(t, challenge, otherCode(code));
    expect(wrong.status).toBe(400);
    const problem = await wrong.json();
    expect(problem).toMatchObject({ code: "OTP_INVALID_CODE", attemptsLeft: 4 });
    expect(problem.challenge).not.toBe(challenge);
    expect(parseSetCookies(wrong)[COOKIE]).toBe(problem.challenge);
    expect((await verify(t, problem.challenge, code)).status).toBe(200);
  });

  it("refuses a missing or garbage challenge with OTP_CHALLENGE_INVALID", async () => {
    expect(await problemCode(await t.request("POST", "/auth/otp/verify", { code: "123456" }))).toBe("OTP_CHALLENGE_INVALID");
    expect(await problemCode(await verify(t, "not.a.challenge.at.all", "123456"))).toBe("OTP_CHALLENGE_INVALID");
  });
});

describe("POST /auth/otp/verify, purpose verify-email", () => {
  it("needs the signed-in user, and only for that user's own address", async () => {
    const { account, accessToken } = await registerUser(t);
    const body = { channel: "email", to: account.email, purpose: "verify-email" };
    expect(await problemCode(await t.request("POST", "/auth/otp/create", body))).toBe("UNAUTHENTICATED");
    const foreign = await t.request("POST", "/auth/otp/create", { ...body, to: newAccount().email }, bearer(accessToken));
    expect(await problemCode(foreign)).toBe("VALIDATION_FAILED");
  });

  it("marks the address verified, answers {verified: true}, and no instance serves the old user afterwards", async () => {
    const { account, accessToken } = await registerUser(t);
    const me = async () => (await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()).user;
    expect((await me()).emailVerified).toBe(false);
    const { challenge } = await createChallenge(t, account.email, { purpose: "verify-email", headers: bearer(accessToken) });
    const code = await lastCodeTo(t, account.email);
    // The state is bound to its user: without the session it is no attempt.
    expect(await problemCode(await verify(t, challenge, code))).toBe("UNAUTHENTICATED");
    const other = await registerUser(t);
    expect(await problemCode(await verify(t, challenge, code, bearer(other.accessToken)))).toBe("OTP_CHALLENGE_INVALID");
    const fresh = await createChallenge(t, account.email, { purpose: "verify-email", headers: bearer(accessToken) });
    const response = await verify(t, fresh.challenge, await lastCodeTo(t, account.email), bearer(accessToken));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ verified: true });
    expect((await me()).emailVerified).toBe(true);
  });
});

describe("POST /auth/otp/resend", () => {
  it("is refused before OTP_RESEND_DELAY with 429 OTP_RESEND_TOO_SOON and Retry-After", async () => {
    const { account } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const response = await resend(t, challenge);
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(29);
    expect(await problemCode(response)).toBe("OTP_RESEND_TOO_SOON");
  });

  it("mails a new code that replaces the old one, through the cookie or the body", async () => {
    const quick = await createTestApp({ OTP_RESEND_DELAY: "0" });
    try {
      const { account } = await registerUser(quick);
      const created = await createChallenge(quick, account.email);
      const first = await lastCodeTo(quick, account.email);
      // A request carrying the cookie must show where it comes from (CSRF).
      const cookie = `${COOKIE}=${created.challenge}`;
      expect(await problemCode(await quick.request("POST", "/auth/otp/resend", undefined, { cookie }))).toBe("CSRF_REJECTED");
      const response = await quick.request("POST", "/auth/otp/resend", undefined, { cookie, origin: TEST_ORIGIN });
      expect(response.status).toBe(200);
      const { challenge } = await response.json();
      expect(parseSetCookies(response)[COOKIE]).toBe(challenge);
      const second = await lastCodeTo(quick, account.email);
      expect(await mailCountTo(quick, account.email)).toBe(2);
      if (first !== second) expect(await problemCode(await verify(quick, challenge, first))).toBe("OTP_INVALID_CODE");
      const again = await resend(quick, created.challenge);
      expect(await problemCode(again)).toBe("OTP_CHALLENGE_INVALID");
    } finally {
      await quick.close();
    }
  });
});
