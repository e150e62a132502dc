import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChallenge, lastCodeTo, verify } from "../support/otp.ts";
import { bearer, createTestApp, type TestApp } from "../support/test-app.ts";

/**
 * An account made by an email sign-in code has no password. Routes that confirm an action with the current password
 * tell its (signed-in) owner so, instead of a generic INVALID_CREDENTIALS that reads like a typo.
 * @see issue 13, item 16
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ OTP_SIGNUP: "true" });
});
afterAll(async () => {
  await t.close();
});

async function passwordlessSignIn(email: string): Promise<string> {
  const { challenge } = await createChallenge(t, email);
  const response = await verify(t, challenge, await lastCodeTo(t, email));
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

describe("an account without a password", () => {
  it("is told PASSWORD_NOT_SET (409) by change-password, email change and DELETE /auth/me, and nothing changes", async () => {
    const email = `codes-only-${Date.now().toString(36)}@example.com`;
    const accessToken = await passwordlessSignIn(email);
    const attempts = [
      t.request("POST", "/auth/change-password", { currentPassword: "any guess at all", newPassword: "a brand new passphrase" }, bearer(accessToken)),
      t.request("PUT", "/auth/me", { email: `moved-${email}`, currentPassword: "any guess at all" }, bearer(accessToken)),
      t.request("DELETE", "/auth/me", { password: "any guess at all" }, bearer(accessToken)),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(409);
      const problem = (await response.json()) as { code: string; detail: string };
      expect(problem.code).toBe("PASSWORD_NOT_SET");
      expect(problem.detail).toMatch(/has no password.*POST \/auth\/forgot-password/);
    }
    const me = await t.request("GET", "/auth/me", undefined, bearer(accessToken));
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);
  });
});
