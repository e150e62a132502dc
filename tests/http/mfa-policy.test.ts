import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, type TestApp } from "../support/test-app.ts";
import { secondFactors } from "../../src/db/tables/mfa.ts";
import { users } from "../../src/db/tables/users.ts";
import { createChallenge, lastCodeTo, verify } from "../support/otp.ts";
import { enrolTotp, verifiedUser } from "../support/mfa.ts";

/** Issue 15: MFA_POLICY=required limits a session without a second factor to enrolment until one is set up. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ MFA_POLICY: "required", MFA_ISSUER: "Example Corp", OTP_SIGNUP: "true" });
});
afterAll(async () => {
  await t.close();
});

const get = (path: string, token: string) => t.request("GET", path, undefined, bearer(token));

/** An account made by a sign-in code (OTP_SIGNUP): no password, a session of amr [email]. */
async function codeOnlyAccount() {
  const email = `code-only-${crypto.randomUUID()}@example.com`;
  const { challenge } = await createChallenge(t, email);
  const signedIn = await verify(t, challenge, await lastCodeTo(t, email));
  expect(signedIn.status).toBe(200);
  const { accessToken, user } = (await signedIn.json()) as { accessToken: string; user: { id: string } };
  return { accessToken, userId: user.id, email };
}

describe("MFA_POLICY=required", () => {
  it("a user without a second factor may see who they are and enrol, and nothing else (403 MFA_ENROLLMENT_REQUIRED)", async () => {
    const { accessToken } = await verifiedUser(t);
    expect((await get("/auth/me", accessToken)).status).toBe(200);
    expect(await (await get("/auth/mfa", accessToken)).json()).toMatchObject({ methods: [], policy: "required" });
    for (const [method, path] of [
      ["GET", "/auth/sessions"],
      ["GET", "/auth/audit"],
      ["PATCH", "/auth/me"],
      ["DELETE", "/auth/sessions"],
    ] as const) {
      const response = await t.request(method, path, method === "PATCH" ? { username: "someone" } : undefined, bearer(accessToken));
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toMatchObject({ code: "MFA_ENROLLMENT_REQUIRED" });
    }
    const reauthenticated = await t.request("POST", "/auth/reauthenticate", { password: "correct horse battery staple" }, bearer(accessToken));
    expect(reauthenticated.status).toBe(200);
  });

  it("enrolling raises the same session to aal 2 and opens every route, without a new login", async () => {
    const { accessToken } = await verifiedUser(t);
    expect((await get("/auth/sessions", accessToken)).status).toBe(403);
    await enrolTotp(t, accessToken, Date.now());
    const me = (await (await get("/auth/me", accessToken)).json()) as { session: { aal: number; amr: string[] } };
    expect(me.session).toMatchObject({ aal: 2, amr: ["pwd", "otp", "mfa"] });
    expect((await get("/auth/sessions", accessToken)).status).toBe(200);
  });

  it("the other sessions of the user are let through once the factor is on (every cached copy of the user is dropped)", async () => {
    const { accessToken, account } = await verifiedUser(t);
    const other = (await (await t.request("POST", "/auth/login", account)).json()) as { accessToken: string };
    expect((await get("/auth/sessions", other.accessToken)).status).toBe(403);
    await enrolTotp(t, accessToken, Date.now());
    expect((await get("/auth/sessions", other.accessToken)).status).toBe(200);
  });

  it("the last second factor cannot be removed (409 MFA_REQUIRED_BY_POLICY)", async () => {
    const { accessToken } = await verifiedUser(t);
    await enrolTotp(t, accessToken, Date.now());
    const response = await t.request("DELETE", "/auth/mfa/totp", undefined, bearer(accessToken));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "MFA_REQUIRED_BY_POLICY" });
    expect(await (await get("/auth/mfa", accessToken)).json()).toMatchObject({ methods: [{ type: "totp" }] });
  });

  it("an account that signs in only by mailed code cannot make email codes its second factor (409 MFA_FACTOR_NOT_SECOND)", async () => {
    const { accessToken, email } = await codeOnlyAccount();
    const enable = await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    expect(enable.status).toBe(409);
    expect(await enable.json()).toMatchObject({ code: "MFA_FACTOR_NOT_SECOND" });
    await t.services.mail.drain();
    expect(t.sentMail.filter((mail) => mail.to === email).map((mail) => mail.subject)).not.toContain("Confirm email as your second factor");
    expect((await get("/auth/sessions", accessToken)).status).toBe(403);
  });

  it("email codes stored as such an account's second factor (before the refusal) do not satisfy the policy", async () => {
    const { accessToken, userId } = await codeOnlyAccount();
    await t.db.insert(secondFactors).values({ userId, type: "email", confirmedAt: new Date(), createdAt: new Date() });
    await t.db.update(users).set({ mfaEnabled: true }).where(eq(users.id, userId));
    await t.services.bus.publish({ kind: "user", userId });
    const refused = await get("/auth/sessions", accessToken);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "MFA_ENROLLMENT_REQUIRED" });
  });

  it("logout stays open", async () => {
    const { accessToken } = await verifiedUser(t);
    expect((await t.request("POST", "/auth/logout", undefined, bearer(accessToken))).status).toBe(204);
  });

  it("the otpauth URI carries MFA_ISSUER", async () => {
    const { accessToken } = await verifiedUser(t);
    const { otpauthUri } = (await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken))).json()) as { otpauthUri: string };
    expect(new URL(otpauthUri).searchParams.get("issuer")).toBe("Example Corp");
  });
});
