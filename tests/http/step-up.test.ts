import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";
import { createChallenge, lastCodeTo, otherCode, verify } from "../support/otp.ts";

/** Issue 14: sensitive actions need a recent authentication (RFC 9470 step-up); POST /auth/reauthenticate renews it. */
const MAX_AGE = 300;
let offsetMs = 0;
/** The services' clock: moved past STEP_UP_MAX_AGE instead of waiting for it. */
const clock = () => new Date(Date.now() + offsetMs);
const ageSessions = () => {
  offsetMs += (MAX_AGE + 1) * 1000;
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ OTP_SIGNUP: "true", RATE_LIMIT_LOGIN_ACCOUNT: "3/900" }, { now: clock });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

async function expectStepUpRequired(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_user_authentication", .*max_age=300$/);
  expect(await response.json()).toMatchObject({ code: "STEP_UP_REQUIRED", maxAge: MAX_AGE });
}

const revokeOthers = (token: string) => t.request("DELETE", "/auth/sessions", undefined, bearer(token));
const reauthenticate = (token: string, body: unknown) => t.request("POST", "/auth/reauthenticate", body, bearer(token));

/** A passwordless account, made by a sign-in code (OTP_SIGNUP), and its access token. */
async function signUpByCode() {
  const { email } = newAccount();
  const { challenge } = await createChallenge(t, email);
  const response = await verify(t, challenge, await lastCodeTo(t, email));
  expect(response.status).toBe(200);
  const { accessToken } = (await response.json()) as { accessToken: string };
  return { email, accessToken };
}

/** The reauthenticate challenge and its mailed code, for the signed-in user of `token`. */
async function reauthenticationCode(email: string, token: string) {
  const { challenge } = await createChallenge(t, email, { purpose: "reauthenticate", headers: bearer(token) });
  return { challenge, code: await lastCodeTo(t, email) };
}

async function authTimeOf(token: string): Promise<number> {
  const body = (await (await t.request("GET", "/auth/me", undefined, bearer(token))).json()) as { session: { authTime: string } };
  return Date.parse(body.session.authTime);
}

describe("STEP_UP_REQUIRED", () => {
  it("a session older than STEP_UP_MAX_AGE may not end the other sessions; a fresh one may", async () => {
    const { accessToken } = await registerUser(t);
    ageSessions();
    await expectStepUpRequired(await revokeOthers(accessToken));
    const fresh = await registerUser(t);
    expect((await revokeOthers(fresh.accessToken)).status).toBe(204);
  });

  it("a passwordless account needs a recent authentication to set a password, change its email or delete itself", async () => {
    const { accessToken } = await signUpByCode();
    ageSessions();
    await expectStepUpRequired(await t.request("POST", "/auth/change-password", { newPassword: "a brand new password" }, bearer(accessToken)));
    await expectStepUpRequired(await t.request("PUT", "/auth/me", { email: newAccount().email }, bearer(accessToken)));
    await expectStepUpRequired(await t.request("DELETE", "/auth/me", {}, bearer(accessToken)));
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  it("the current password in the body still counts as re-authentication on an old session (existing clients)", async () => {
    const { accessToken, account } = await registerUser(t);
    ageSessions();
    const email = newAccount().email;
    expect((await t.request("PUT", "/auth/me", { email, currentPassword: account.password }, bearer(accessToken))).status).toBe(200);
    const changed = { currentPassword: account.password, newPassword: "another good password" };
    expect((await t.request("POST", "/auth/change-password", changed, bearer(accessToken))).status).toBe(204);
    ageSessions();
    expect((await t.request("DELETE", "/auth/me", { password: "another good password" }, bearer(accessToken))).status).toBe(204);
  });
});

describe("POST /auth/reauthenticate", () => {
  it("with the password: authTime moves to now in me and in a new access token; the refresh token is untouched", async () => {
    const { accessToken, refreshToken, account } = await registerUser(t);
    const signedInAt = await authTimeOf(accessToken); // warms the session cache
    ageSessions();
    const response = await reauthenticate(accessToken, { password: account.password });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { accessToken: string; tokenType: string; expiresIn: number; authTime: string };
    expect(Object.keys(body).sort()).toEqual(["accessToken", "authTime", "expiresIn", "tokenType"]);
    expect(Date.parse(body.authTime) - signedInAt).toBeGreaterThanOrEqual((MAX_AGE + 1) * 1000);

    const jwks = (await (await t.request("GET", "/.well-known/jwks.json")).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(body.accessToken, createLocalJWKSet(jwks), { issuer: TEST_ORIGIN, audience: "servauth" });
    expect(payload).toMatchObject({ auth_time: Math.floor(Date.parse(body.authTime) / 1000), amr: ["pwd"], acr: "aal1" });

    // The cache learned it: even the old access token's session now passes, and me shows the new authTime.
    expect(await authTimeOf(accessToken)).toBe(Date.parse(body.authTime));
    expect((await revokeOthers(accessToken)).status).toBe(204);
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(200);
  });

  it("a wrong password is INVALID_CREDENTIALS and counts toward the account's login lockout", async () => {
    const { accessToken, account } = await registerUser(t);
    for (let i = 0; i < 3; i++) {
      const wrong = await reauthenticate(accessToken, { password: "not the password" });
      expect(wrong.status).toBe(401);
      expect((await wrong.json()).code).toBe("INVALID_CREDENTIALS");
    }
    const locked = await t.request("POST", "/auth/login", account);
    expect(locked.status).toBe(429);
    expect((await reauthenticate(accessToken, { password: account.password })).status).toBe(429);
  });

  it("a wrong current password on change-password, an email change or deletion counts toward the same lockout, and is audited", async () => {
    const { accessToken, account, user } = await registerUser(t);
    const wrong = "not the password";
    const answers = [
      await t.request("POST", "/auth/change-password", { currentPassword: wrong, newPassword: "a brand new passphrase" }, bearer(accessToken)),
      await t.request("PUT", "/auth/me", { email: newAccount().email, currentPassword: wrong }, bearer(accessToken)),
      await t.request("DELETE", "/auth/me", { password: wrong }, bearer(accessToken)),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401]);
    expect((await t.request("POST", "/auth/login", account)).status).toBe(429);
    const failures = await t.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.type, "session.reauthentication_failed"), eq(auditEvents.userId, user.id)));
    expect(failures.map((event) => event.payload)).toEqual([{ method: "pwd" }, { method: "pwd" }, { method: "pwd" }]);
  });

  it("by a mailed code: a passwordless account re-authenticates, sets a password, signs in with it, and deletes itself", async () => {
    const { email, accessToken } = await signUpByCode();
    ageSessions();
    const first = await reauthenticationCode(email, accessToken);
    const response = await reauthenticate(accessToken, { method: "email", ...first });
    expect(response.status).toBe(200);
    const { accessToken: renewed } = (await response.json()) as { accessToken: string };
    const password = "my first password here";
    expect((await t.request("POST", "/auth/change-password", { newPassword: password }, bearer(renewed))).status).toBe(204);
    expect((await t.request("POST", "/auth/login", { email, password })).status).toBe(200);

    const other = await signUpByCode();
    ageSessions();
    const code = await reauthenticationCode(other.email, other.accessToken);
    expect((await reauthenticate(other.accessToken, { method: "email", ...code })).status).toBe(200);
    expect((await t.request("DELETE", "/auth/me", {}, bearer(other.accessToken))).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).status).toBe(401);
  });

  it("a wrong code is OTP_INVALID_CODE with the next challenge, and counts toward the login lockout", async () => {
    const { account, accessToken } = await registerUser(t);
    let { challenge, code } = await reauthenticationCode(account.email, accessToken);
    for (let i = 0; i < 3; i++) {
      const wrong = await reauthenticate(accessToken, { method: "email", challenge, code: otherCode(code) });
      expect(wrong.status).toBe(400);
      const problem = (await wrong.json()) as { code: string; challenge: string; attemptsLeft: number };
      expect(problem).toMatchObject({ code: "OTP_INVALID_CODE", attemptsLeft: 4 - i });
      challenge = problem.challenge;
    }
    expect((await t.request("POST", "/auth/login", account)).status).toBe(429);
    expect((await reauthenticate(accessToken, { method: "email", challenge, code })).status).toBe(429);
  });

  it("refuses another user's challenge and a sign-in challenge, and /auth/otp/verify refuses a reauthenticate one", async () => {
    const ann = await registerUser(t);
    const bob = await registerUser(t);
    const annCode = await reauthenticationCode(ann.account.email, ann.accessToken);
    const foreign = await reauthenticate(bob.accessToken, { method: "email", ...annCode });
    expect((await foreign.json()).code).toBe("OTP_CHALLENGE_INVALID");
    const signIn = await createChallenge(t, bob.account.email);
    const wrongPurpose = await reauthenticate(bob.accessToken, { method: "email", challenge: signIn.challenge, code: await lastCodeTo(t, bob.account.email) });
    expect((await wrongPurpose.json()).code).toBe("OTP_CHALLENGE_INVALID");
    const atVerify = await verify(t, annCode.challenge, annCode.code, bearer(ann.accessToken));
    expect((await atVerify.json()).code).toBe("OTP_CHALLENGE_INVALID");
  });

  it("answers 401 without a session and 400 for a body that is neither a password nor a code", async () => {
    expect((await t.request("POST", "/auth/reauthenticate", { password: "whatever" })).status).toBe(401);
    const { accessToken } = await registerUser(t);
    for (const body of [{}, { method: "email" }, { method: "email", code: "12" }, { password: "" }]) {
      const response = await reauthenticate(accessToken, body);
      expect(response.status).toBe(400);
      expect((await response.json()).code).toBe("VALIDATION_FAILED");
    }
  });
});
