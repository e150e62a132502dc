import { and, eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts } from "../../src/db/tables/accounts.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { auditTypes, enrolTotp, loginExpectingMfa, verifiedUser, verifyMfa } from "../support/mfa.ts";
import { addPasskey, newAuthenticator, passkeyLogin, problemOf, type RequestOptionsJson } from "../support/passkeys.ts";
import type { SoftAuthenticator } from "../support/soft-authenticator.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * A passkey as the second factor of a sign-in (POST /auth/mfa/webauthn/options, method webauthn), under
 * MFA_POLICY=required, and as a way in wherever the server asks whether an account keeps one.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

/** A verified user with TOTP and a passkey; what a password login then asks for. */
async function userWithTotpAndPasskey(app = t) {
  const registered = await verifiedUser(app);
  await enrolTotp(app, registered.accessToken, Date.now());
  const authenticator = newAuthenticator();
  const passkey = await addPasskey(app, registered.accessToken, authenticator);
  return { ...registered, authenticator, passkey };
}

const webauthnOptions = (mfaToken: string) => t.request("POST", "/auth/mfa/webauthn/options", { mfaToken });

async function secondFactorWith(authenticator: SoftAuthenticator, mfaToken: string, tamper: Parameters<SoftAuthenticator["get"]>[1] = {}) {
  const options = (await (await webauthnOptions(mfaToken)).json()) as RequestOptionsJson;
  return t.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response: authenticator.get(options, tamper) });
}

describe("a passkey as the second factor", () => {
  it("is offered in MFA_REQUIRED and GET /auth/mfa, and finishes a password sign-in at aal 2", async () => {
    const { account, accessToken, authenticator, user } = await userWithTotpAndPasskey();
    const status = (await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()) as { methods: Array<{ type: string }> };
    expect(status.methods.map((method) => method.type)).toEqual(["totp", "webauthn"]);
    const { mfaToken, methods } = await loginExpectingMfa(t, account);
    expect(methods).toEqual(["totp", "webauthn", "recovery_code"]);

    const options = (await (await webauthnOptions(mfaToken)).json()) as RequestOptionsJson;
    expect(options.allowCredentials.map((entry) => entry.id)).toEqual([authenticator.credentials[0]?.id.toString("base64url")]);
    expect(options.userVerification).toBe("required");
    const answer = await t.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response: authenticator.get(options) });
    expect(answer.status, await answer.clone().text()).toBe(200);
    const { accessToken: token } = (await answer.json()) as { accessToken: string };
    expect(decodeJwt(token)).toMatchObject({ sub: user.id, amr: ["pwd", "hwk", "mfa"], acr: "aal2" });
  });

  it("an mfaToken signs in once: a replayed assertion is refused", async () => {
    const { account, authenticator } = await userWithTotpAndPasskey();
    const { mfaToken } = await loginExpectingMfa(t, account);
    const options = (await (await webauthnOptions(mfaToken)).json()) as RequestOptionsJson;
    const response = authenticator.get(options);
    expect((await t.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response })).status).toBe(200);
    expect(await problemOf(await t.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response }))).toEqual({ status: 400, code: "MFA_CHALLENGE_INVALID" });
  });

  it("refuses another user's passkey, counting it as a wrong code", async () => {
    const ann = await userWithTotpAndPasskey();
    const mallory = await userWithTotpAndPasskey();
    const { mfaToken } = await loginExpectingMfa(t, ann.account);
    const answer = await secondFactorWith(mallory.authenticator, mfaToken);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 4 });
  });

  it("refuses an assertion without user verification, and one for another RP ID", async () => {
    const { account, authenticator } = await userWithTotpAndPasskey();
    const { mfaToken } = await loginExpectingMfa(t, account);
    expect(await problemOf(await secondFactorWith(authenticator, mfaToken, { userVerified: false }))).toEqual({ status: 400, code: "MFA_INVALID_CODE" });
    expect(await problemOf(await secondFactorWith(authenticator, mfaToken, { rpId: "evil.example" }))).toEqual({ status: 400, code: "MFA_INVALID_CODE" });
    expect((await secondFactorWith(authenticator, mfaToken)).status).toBe(200);
  });

  it("a challenge bound to one mfaToken cannot finish another sign-in, nor a passwordless one", async () => {
    const { account, authenticator } = await userWithTotpAndPasskey();
    const first = await loginExpectingMfa(t, account);
    const second = await loginExpectingMfa(t, account);
    const options = (await (await webauthnOptions(first.mfaToken)).json()) as RequestOptionsJson;
    const crossToken = await t.request("POST", "/auth/mfa/verify", { mfaToken: second.mfaToken, method: "webauthn", response: authenticator.get(options) });
    expect(await problemOf(crossToken)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });

    const again = (await (await webauthnOptions(first.mfaToken)).json()) as RequestOptionsJson;
    const passwordless = await t.request("POST", "/auth/passkeys/login/verify", { response: authenticator.get(again) });
    expect(await problemOf(passwordless)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
  });

  it.each(["{}", '{"challenge":1}', '"x"', JSON.stringify({ type: "webauthn.get", challenge: "not handed out" })])(
    "a response without a challenge of this mfaToken (%s) is WEBAUTHN_CHALLENGE_INVALID, audited, and spends neither the token nor the credential",
    async (clientData) => {
      const { account, authenticator, user } = await userWithTotpAndPasskey();
      const { mfaToken } = await loginExpectingMfa(t, account);
      const credentialId = authenticator.credentials[0]!.id.toString("base64url");
      const junk = {
        id: credentialId,
        rawId: credentialId,
        type: "public-key",
        clientExtensionResults: {},
        response: { clientDataJSON: Buffer.from(clientData).toString("base64url"), authenticatorData: "AAAA", signature: "AAAA" },
      };
      for (let i = 0; i < 6; i++) {
        const answer = await t.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response: junk });
        expect(await problemOf(answer)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
      }
      expect((await auditTypes(t, user.id)).filter((type) => type === "passkey.refused")).toHaveLength(6);
      const owner = await secondFactorWith(authenticator, mfaToken);
      expect(owner.status, await owner.clone().text()).toBe(200);
    },
  );

  it("a passkey rate limit's refusal gives the mfaToken's attempt back; the owner's right assertion is not refused by it", async () => {
    const limited = await createTestApp({ RATE_LIMIT_PASSKEY_CREDENTIAL: "1/900" });
    try {
      const { account, authenticator } = await userWithTotpAndPasskey(limited);
      const { mfaToken } = await loginExpectingMfa(limited, account);
      const withPasskey = async (tamper: Parameters<SoftAuthenticator["get"]>[1] = {}) => {
        const options = (await (await limited.request("POST", "/auth/mfa/webauthn/options", { mfaToken })).json()) as RequestOptionsJson;
        return limited.request("POST", "/auth/mfa/verify", { mfaToken, method: "webauthn", response: authenticator.get(options, tamper) });
      };
      expect(await (await withPasskey({ userVerified: false })).json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 4 });
      expect(await problemOf(await withPasskey({ userVerified: false }))).toEqual({ status: 429, code: "RATE_LIMITED" });
      expect(await (await verifyMfa(limited, mfaToken, "totp", "000000")).json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 3 });
      expect((await withPasskey()).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("options need a live mfaToken of a user who has a passkey", async () => {
    expect(await problemOf(await webauthnOptions("x".repeat(43)))).toEqual({ status: 400, code: "MFA_CHALLENGE_INVALID" });
    const registered = await verifiedUser(t);
    await enrolTotp(t, registered.accessToken, Date.now());
    const { mfaToken, methods } = await loginExpectingMfa(t, registered.account);
    expect(methods).not.toContain("webauthn");
    expect(await problemOf(await webauthnOptions(mfaToken))).toEqual({ status: 400, code: "MFA_CHALLENGE_INVALID" });
  });

  it("a passwordless passkey sign-in needs no further factor, even with TOTP set up", async () => {
    const { authenticator } = await userWithTotpAndPasskey();
    const answer = await passkeyLogin(t, authenticator);
    expect(answer.status).toBe(200);
    expect(decodeJwt(((await answer.json()) as { accessToken: string }).accessToken).acr).toBe("aal2");
  });
});

describe("MFA_POLICY=required", () => {
  it("a passkey sign-in with user verification satisfies the policy; a password session of the same user does not", async () => {
    const strict = await createTestApp({ MFA_POLICY: "required" });
    try {
      const { accessToken, account } = await registerUser(strict);
      const authenticator = newAuthenticator();
      await addPasskey(strict, accessToken, authenticator);
      const password = (await (await strict.request("POST", "/auth/login", account)).json()) as { accessToken: string };
      expect(await problemOf(await strict.request("GET", "/auth/sessions", undefined, bearer(password.accessToken)))).toEqual({ status: 403, code: "MFA_ENROLLMENT_REQUIRED" });
      const signedIn = (await (await passkeyLogin(strict, authenticator)).json()) as { accessToken: string };
      expect((await strict.request("GET", "/auth/sessions", undefined, bearer(signedIn.accessToken))).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe("a passkey as a way in", () => {
  it("unlinking the only social identity of an account without a password is allowed while a passkey remains", async () => {
    const { user, accessToken } = await registerUser(t);
    await t.db.delete(accounts).where(and(eq(accounts.userId, user.id), eq(accounts.providerId, "credential")));
    const [identity] = await t.db.insert(accounts).values({ userId: user.id, providerId: "google", accountId: `g-${user.id}` }).returning({ id: accounts.id });
    expect(await problemOf(await t.request("DELETE", `/auth/me/accounts/${identity?.id}`, undefined, bearer(accessToken)))).toEqual({ status: 409, code: "LAST_SIGN_IN_METHOD" });
    await addPasskey(t, accessToken, newAuthenticator());
    const listed = (await (await t.request("GET", "/auth/me/accounts", undefined, bearer(accessToken))).json()) as { passkeys: number; password: boolean };
    expect(listed).toMatchObject({ passkeys: 1, password: false });
    expect((await t.request("DELETE", `/auth/me/accounts/${identity?.id}`, undefined, bearer(accessToken))).status).toBe(204);
  });

  it("a banned user's passkey opens no session, and no passkey.signed_in is recorded", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const authenticator = newAuthenticator();
    await addPasskey(t, target.accessToken, authenticator);
    expect((await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "abuse" })).status).toBe(200);
    expect(await problemOf(await passkeyLogin(t, authenticator))).toEqual({ status: 403, code: "ACCOUNT_BANNED" });
    expect(await auditTypes(t, target.user.id)).not.toContain("passkey.signed_in");
  });

  it("the admin API's user detail counts the user's passkeys", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    await addPasskey(t, target.accessToken, newAuthenticator());
    await addPasskey(t, target.accessToken, newAuthenticator());
    const detail = (await (await asAdmin(t, admin.accessToken)("GET", `/auth/admin/users/${target.user.id}`)).json()) as { user: { passkeys: number } };
    expect(detail.user.passkeys).toBe(2);
  });
});
