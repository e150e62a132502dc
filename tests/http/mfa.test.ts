import { TOTP, URI } from "otpauth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bearer, createTestApp, parseSetCookies, type TestApp } from "../support/test-app.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { createChallenge, lastCodeTo, otherCode, verify } from "../support/otp.ts";
import {
  auditTypes,
  enrolTotp,
  lastMailedCode,
  loginExpectingMfa,
  sessionCount,
  subjectsTo,
  totpAt,
  verifiedUser,
  verifyMfa,
} from "../support/mfa.ts";

/** Issue 15: second factors (TOTP, recovery codes, email codes) finishing a sign-in that answered MFA_REQUIRED. */
let offsetMs = 0;
/** The services' clock: TOTP steps, mfaToken expiry and step-up are moved instead of waited for. */
const now = () => Date.now() + offsetMs;
const STEP_MS = 30_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ OTP_SIGNUP: "true", RATE_LIMIT_MFA_ACCOUNT: "7/900" }, { now: () => new Date(now()) });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

type SessionJson = { amr: string[]; aal: number };
async function sessionOf(token: string): Promise<SessionJson> {
  const response = await t.request("GET", "/auth/me", undefined, bearer(token));
  expect(response.status).toBe(200);
  return ((await response.json()) as { session: SessionJson }).session;
}

/** A verified user with TOTP set up, signed in with the password only so far. */
async function totpUser() {
  const registered = await verifiedUser(t);
  const enrolled = await enrolTotp(t, registered.accessToken, now());
  return { ...registered, ...enrolled };
}

describe("signing in with a second factor", () => {
  it("a right password answers 403 MFA_REQUIRED with an mfaToken, the methods and the expiry, and makes no session", async () => {
    const { account, user } = await totpUser();
    const before = await sessionCount(t, user.id);
    const required = await loginExpectingMfa(t, account);
    expect(required.methods).toEqual(["totp", "recovery_code"]);
    expect(required.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(required.expiresAt) - now()).toBeGreaterThan(290_000);
    expect(Date.parse(required.expiresAt) - now()).toBeLessThanOrEqual(300_000);
    expect(await sessionCount(t, user.id)).toBe(before);
    expect(await auditTypes(t, user.id)).not.toContain("login.succeeded");
  });

  it("a wrong password still answers INVALID_CREDENTIALS, never MFA_REQUIRED", async () => {
    const { account } = await totpUser();
    const response = await t.request("POST", "/auth/login", { ...account, password: "not the password at all" });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "INVALID_CREDENTIALS" });
  });

  it("the app's code finishes it: the login answer with cookies, and a session of amr [pwd, otp, mfa], aal 2", async () => {
    const { account, secret, user } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    offsetMs += STEP_MS;
    const response = await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()));
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { accessToken: string; refreshToken: string; user: { id: string } };
    expect(body.user.id).toBe(user.id);
    expect(Object.keys(parseSetCookies(response))).toEqual(expect.arrayContaining(["servauth.session", "servauth.refresh"]));
    expect(await sessionOf(body.accessToken)).toMatchObject({ amr: ["pwd", "otp", "mfa"], aal: 2 });
    expect(await auditTypes(t, user.id)).toContain("login.succeeded");
  });

  it("one step of drift either way is accepted; two steps are not", async () => {
    const { account, secret } = await totpUser();
    offsetMs += 2 * STEP_MS;
    const tooOld = await loginExpectingMfa(t, account);
    const stale = await verifyMfa(t, tooOld.mfaToken, "totp", totpAt(secret, now() - 2 * STEP_MS));
    expect(stale.status).toBe(400);
    expect((await verifyMfa(t, tooOld.mfaToken, "totp", totpAt(secret, now() + 2 * STEP_MS))).status).toBe(400);
    expect((await verifyMfa(t, tooOld.mfaToken, "totp", totpAt(secret, now() - STEP_MS))).status).toBe(200);
    const ahead = await loginExpectingMfa(t, account);
    expect((await verifyMfa(t, ahead.mfaToken, "totp", totpAt(secret, now() + STEP_MS))).status).toBe(200);
  });

  it("a replayed code inside its window is refused, on another mfaToken too, without spending an attempt", async () => {
    const { account, secret, user } = await totpUser();
    offsetMs += STEP_MS;
    const code = totpAt(secret, now());
    expect((await verifyMfa(t, (await loginExpectingMfa(t, account)).mfaToken, "totp", code)).status).toBe(200);
    const again = await loginExpectingMfa(t, account);
    const replay = await verifyMfa(t, again.mfaToken, "totp", code);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 5 });
    // A step before the accepted one is refused as well: steps only move forward.
    expect((await verifyMfa(t, again.mfaToken, "totp", totpAt(secret, now() - STEP_MS))).status).toBe(400);
    expect(await auditTypes(t, user.id)).toContain("mfa.failed");
  });

  it("a secret sealed under another AUTH_SECRET refuses the code without counting it, never a 500", async () => {
    const { account, secret, user } = await totpUser();
    // What a changed AUTH_SECRET looks like to this server: a sealed value its box cannot open.
    await t.services.database.db.execute(`update second_factors set sealed_secret = 'v1.AAAA.AAAA.AAAA' where user_id = '${user.id}' and type = 'totp'`);
    offsetMs += STEP_MS;
    const refused = await verifyMfa(t, (await loginExpectingMfa(t, account)).mfaToken, "totp", totpAt(secret, now()));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 5 });
  });

  it("20 parallel submissions of one right code make exactly one session", async () => {
    const { account, secret, user } = await totpUser();
    offsetMs += STEP_MS;
    const { mfaToken } = await loginExpectingMfa(t, account);
    const before = await sessionCount(t, user.id);
    const code = totpAt(secret, now());
    const responses = await Promise.all(Array.from({ length: 20 }, () => verifyMfa(t, mfaToken, "totp", code)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    // Every code is counted before it is checked: past the account's lockout (7 here) the rest are 429, never checked.
    expect(statuses.filter((status) => status !== 200 && status !== 400 && status !== 429)).toEqual([]);
    expect(await sessionCount(t, user.id)).toBe(before + 1);
  });

  it("20 parallel submissions of one right code on 20 mfaTokens make exactly one session", async () => {
    const { account, secret, user } = await totpUser();
    offsetMs += STEP_MS;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => loginExpectingMfa(t, account)));
    const before = await sessionCount(t, user.id);
    const code = totpAt(secret, now());
    const responses = await Promise.all(tokens.map(({ mfaToken }) => verifyMfa(t, mfaToken, "totp", code)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(await sessionCount(t, user.id)).toBe(before + 1);
  });
});

describe("racing the limits", () => {
  const wrongCodes = (right: string, count: number) => Array.from({ length: count }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, "0"));

  // A right code inside the burst would make the outcome depend on timing: once it wins, it resets the lockout (as a
  // right password does) and the guesses still in flight are counted afresh. So the burst is all wrong codes, and the
  // right one follows it: the lockout must stand in front of it.
  const expectLockedOutAfterBurst = async (responses: Response[], auditType: string, userId: string, rightCode: () => Response | Promise<Response>) => {
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array<number>(7).fill(400), ...Array<number>(13).fill(429)]);
    expect((await auditTypes(t, userId)).filter((type) => type === auditType)).toHaveLength(7);
    expect((await rightCode()).status).toBe(429);
  };

  it("a parallel burst of wrong codes over several mfaTokens gets exactly the account's lockout (7) of checks", async () => {
    const { account, secret, user } = await totpUser();
    offsetMs += STEP_MS;
    const right = totpAt(secret, now());
    const tokens = await Promise.all(Array.from({ length: 5 }, () => loginExpectingMfa(t, account)));
    const responses = await Promise.all(wrongCodes(right, 20).map((code, i) => verifyMfa(t, tokens[i % 4]!.mfaToken, "totp", code)));
    await expectLockedOutAfterBurst(responses, "mfa.failed", user.id, () => verifyMfa(t, tokens[4]!.mfaToken, "totp", right));
  });

  it("the same burst on POST /auth/reauthenticate gets no more checks than the lockout either", async () => {
    const { accessToken, secret, user } = await totpUser();
    offsetMs += STEP_MS;
    const right = totpAt(secret, now());
    const reauthenticate = (code: string) => t.request("POST", "/auth/reauthenticate", { method: "totp", code }, bearer(accessToken));
    const responses = await Promise.all(wrongCodes(right, 20).map(reauthenticate));
    await expectLockedOutAfterBurst(responses, "session.reauthentication_failed", user.id, () => reauthenticate(right));
  });

  it("the same burst on an enrolment's confirmation gets no more checks than the lockout either", async () => {
    const { accessToken, user } = await verifiedUser(t);
    const { secret } = (await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken))).json()) as { secret: string };
    const right = totpAt(secret, now());
    const confirm = (code: string) => t.request("POST", "/auth/mfa/totp/confirm", { code }, bearer(accessToken));
    const responses = await Promise.all(wrongCodes(right, 20).map(confirm));
    await expectLockedOutAfterBurst(responses, "mfa.failed", user.id, () => confirm(right));
  });

  it("replayed codes are given back to the account's lockout: a right code still signs in after many", async () => {
    const { account, secret } = await totpUser();
    offsetMs += STEP_MS;
    const used = totpAt(secret, now());
    expect((await verifyMfa(t, (await loginExpectingMfa(t, account)).mfaToken, "totp", used)).status).toBe(200);
    const { mfaToken } = await loginExpectingMfa(t, account);
    for (let i = 0; i < 10; i += 1) expect(await (await verifyMfa(t, mfaToken, "totp", used)).json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 5 });
    offsetMs += STEP_MS;
    expect((await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()))).status).toBe(200);
  });

  it("two right codes racing on one mfaToken make one session and spend only the winner's factor", async () => {
    for (let round = 0; round < 4; round += 1) {
      const { account, accessToken, secret, recoveryCodes, user } = await totpUser();
      offsetMs += STEP_MS;
      const { mfaToken } = await loginExpectingMfa(t, account);
      const before = await sessionCount(t, user.id);
      const [byApp, byRecoveryCode] = await Promise.all([verifyMfa(t, mfaToken, "totp", totpAt(secret, now())), verifyMfa(t, mfaToken, "recovery_code", recoveryCodes[0]!)]);
      expect([byApp.status, byRecoveryCode.status].sort()).toEqual([200, 400]);
      expect(await sessionCount(t, user.id)).toBe(before + 1);
      const { recoveryCodesLeft } = (await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()) as { recoveryCodesLeft: number };
      expect(recoveryCodesLeft).toBe(byRecoveryCode.status === 200 ? 9 : 10);
    }
  });
});

describe("the mfaToken", () => {
  it("is single use", async () => {
    const { account, secret } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    offsetMs += STEP_MS;
    expect((await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()))).status).toBe(200);
    offsetMs += STEP_MS;
    const reused = await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()));
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
  });

  it("expires after 5 minutes", async () => {
    const { account, secret } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    offsetMs += 301_000;
    const late = await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()));
    expect(late.status).toBe(400);
    expect(await late.json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
  });

  it("is burned by the fifth wrong code: attemptsLeft counts down, then even a right code is refused", async () => {
    const { account, secret, user } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    offsetMs += STEP_MS;
    const right = totpAt(secret, now());
    for (const attemptsLeft of [4, 3, 2, 1, 0]) {
      const wrong = await verifyMfa(t, mfaToken, "totp", otherCode(right));
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft });
    }
    const burned = await verifyMfa(t, mfaToken, "totp", right);
    expect(burned.status).toBe(400);
    expect(await burned.json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
    const events = await auditTypes(t, user.id);
    expect(events.filter((type) => type === "mfa.failed")).toHaveLength(5);
    expect(events).toContain("mfa.burned");
  });

  it("an unknown or malformed token is MFA_CHALLENGE_INVALID or VALIDATION_FAILED, never a 500", async () => {
    expect(await (await verifyMfa(t, "A".repeat(43), "totp", "123456")).json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
    expect((await verifyMfa(t, "not a token!", "totp", "123456")).status).toBe(400);
    expect((await t.request("POST", "/auth/mfa/verify", { mfaToken: "A".repeat(43), method: "sms", code: "1" })).status).toBe(400);
  });

  it("wrong codes across mfaTokens lock the account's second factor (429 Retry-After), right codes included", async () => {
    const { account, secret } = await totpUser();
    offsetMs += STEP_MS;
    const right = totpAt(secret, now());
    for (let round = 0; round < 2; round += 1) {
      const { mfaToken } = await loginExpectingMfa(t, account);
      for (let i = 0; i < (round === 0 ? 5 : 2); i += 1) expect((await verifyMfa(t, mfaToken, "totp", otherCode(right))).status).toBe(400);
    }
    const { mfaToken } = await loginExpectingMfa(t, account);
    const locked = await verifyMfa(t, mfaToken, "totp", right);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("an outstanding mfaToken ends when its first factor no longer stands", () => {
  async function refusesRightCode(secret: string, mfaToken: string) {
    offsetMs += STEP_MS;
    const late = await verifyMfa(t, mfaToken, "totp", totpAt(secret, now()));
    expect(await late.json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID", status: 400 });
  }

  it("a password change", async () => {
    const { account, accessToken, secret } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    const changed = await t.request("POST", "/auth/change-password", { currentPassword: account.password, newPassword: "another long new password 42" }, bearer(accessToken));
    expect(changed.status).toBe(204);
    await refusesRightCode(secret, mfaToken);
  });

  it("a password reset", async () => {
    const { account, secret } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    await t.services.mail.drain();
    const mail = t.sentMail.filter((message) => message.to === account.email && message.subject === "Reset your password").at(-1);
    expect((await t.request("POST", "/auth/reset-password", { token: tokenFrom(mail ?? { text: "" }, "/reset-password"), password: "a brand new password" })).status).toBe(204);
    await refusesRightCode(secret, mfaToken);
  });

  it("signing out everywhere (DELETE /auth/sessions)", async () => {
    const { account, accessToken, secret } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    expect((await t.request("DELETE", "/auth/sessions", undefined, bearer(accessToken))).status).toBe(204);
    await refusesRightCode(secret, mfaToken);
  });

  it("removing a second factor", async () => {
    const { account, accessToken, recoveryCodes } = await totpUser();
    await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    await t.request("POST", "/auth/mfa/email/confirm", { code: await lastMailedCode(t, account.email, /^Confirm email as your second factor$/) }, bearer(accessToken));
    const { mfaToken } = await loginExpectingMfa(t, account);
    expect((await t.request("DELETE", "/auth/mfa/totp", undefined, bearer(accessToken))).status).toBe(204);
    expect(await (await verifyMfa(t, mfaToken, "recovery_code", recoveryCodes[0]!)).json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
  });
});

describe("a password reset", () => {
  it("keeps the second factors: the new password still answers MFA_REQUIRED", async () => {
    const { account, user } = await totpUser();
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    await t.services.mail.drain();
    const mail = t.sentMail.filter((message) => message.to === account.email && message.subject === "Reset your password").at(-1);
    const token = tokenFrom(mail ?? { text: "" }, "/reset-password");
    expect((await t.request("POST", "/auth/reset-password", { token, password: "a brand new password" })).status).toBe(204);
    expect(await sessionCount(t, user.id)).toBe(0);
    expect((await loginExpectingMfa(t, { email: account.email, password: "a brand new password" })).methods).toEqual(["totp", "recovery_code"]);
  });
});

describe("recovery codes", () => {
  it("each signs in once (typed loosely), is audited and mailed, and recoveryCodesLeft counts the rest", async () => {
    const { account, recoveryCodes, user, accessToken } = await totpUser();
    expect(recoveryCodes).toHaveLength(10);
    const [first] = recoveryCodes as [string];
    const { mfaToken } = await loginExpectingMfa(t, account);
    const typed = ` ${first.toUpperCase().replaceAll("-", " ")} `;
    const response = await verifyMfa(t, mfaToken, "recovery_code", typed);
    expect(response.status, await response.clone().text()).toBe(200);
    const { accessToken: recovered } = (await response.json()) as { accessToken: string };
    expect(await sessionOf(recovered)).toMatchObject({ amr: ["pwd", "otp", "mfa"], aal: 2 });
    const again = await loginExpectingMfa(t, account);
    expect(await (await verifyMfa(t, again.mfaToken, "recovery_code", first)).json()).toMatchObject({ code: "MFA_INVALID_CODE", attemptsLeft: 4 });
    const status = await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json();
    expect(status).toMatchObject({ recoveryCodesLeft: 9, policy: "optional", methods: [{ type: "totp" }] });
    expect(await auditTypes(t, user.id)).toContain("mfa.recovery_code_used");
    expect(await subjectsTo(t, account.email)).toContain("A recovery code was used to sign in");
  });

  it("regenerating replaces them: the old ones stop working, the new ones sign in", async () => {
    const { account, recoveryCodes, accessToken, user } = await totpUser();
    const response = await t.request("POST", "/auth/mfa/recovery-codes", undefined, bearer(accessToken));
    expect(response.status).toBe(200);
    const fresh = ((await response.json()) as { recoveryCodes: string[] }).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[0]);
    const { mfaToken } = await loginExpectingMfa(t, account);
    expect((await verifyMfa(t, mfaToken, "recovery_code", recoveryCodes[0] ?? "")).status).toBe(400);
    expect((await verifyMfa(t, mfaToken, "recovery_code", fresh[0] ?? "")).status).toBe(200);
    expect((await auditTypes(t, user.id)).filter((type) => type === "mfa.recovery_codes_generated")).toHaveLength(2);
  });

  it("cannot be generated without a second factor", async () => {
    const { accessToken } = await verifiedUser(t);
    const response = await t.request("POST", "/auth/mfa/recovery-codes", undefined, bearer(accessToken));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "MFA_NOT_ENABLED" });
  });
});

describe("enrolment", () => {
  it("TOTP setup returns the secret, an otpauth URI with issuer and email, and an SVG QR code", async () => {
    const { accessToken, account } = await verifiedUser(t);
    const response = await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { secret: string; otpauthUri: string; qrCodeSvg: string };
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const parsed = URI.parse(body.otpauthUri);
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed).toMatchObject({ issuer: "Servauth", label: account.email, algorithm: "SHA1", digits: 6, period: 30 });
    expect(parsed.secret.base32).toBe(body.secret);
    expect(body.qrCodeSvg).toMatch(/^<svg[^>]*>.*<\/svg>\s*$/s);
  });

  it("the secret is stored sealed, never in the clear", async () => {
    const { accessToken, user } = await verifiedUser(t);
    const { secret } = (await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken))).json()) as { secret: string };
    const dump = JSON.stringify(await t.services.database.db.execute(`select * from second_factors where user_id = '${user.id}'`));
    expect(dump).not.toContain(secret);
    expect(dump).toContain("v1.");
  });

  it("a wrong code does not confirm (400 MFA_INVALID_CODE); without a setup there is nothing to confirm", async () => {
    const { accessToken } = await verifiedUser(t);
    const none = await t.request("POST", "/auth/mfa/totp/confirm", { code: "123456" }, bearer(accessToken));
    expect(await none.json()).toMatchObject({ code: "MFA_NO_PENDING_ENROLLMENT", status: 400 });
    const { secret } = (await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken))).json()) as { secret: string };
    const wrong = await t.request("POST", "/auth/mfa/totp/confirm", { code: otherCode(totpAt(secret, now())) }, bearer(accessToken));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ code: "MFA_INVALID_CODE" });
  });

  it("confirming raises the session to aal 2 at once and mails and audits the change", async () => {
    const { accessToken, account, user } = await verifiedUser(t);
    expect(await sessionOf(accessToken)).toMatchObject({ amr: ["pwd"], aal: 1 });
    await enrolTotp(t, accessToken, now());
    expect(await sessionOf(accessToken)).toMatchObject({ amr: ["pwd", "otp", "mfa"], aal: 2 });
    expect(await auditTypes(t, user.id)).toEqual(expect.arrayContaining(["mfa.enabled", "mfa.recovery_codes_generated"]));
    expect(await subjectsTo(t, account.email)).toContain("A second factor was added to your account");
  });

  it("a second setup while TOTP is on is 409 MFA_ALREADY_ENABLED; an unverified address may not set up", async () => {
    const { accessToken } = await totpUser();
    expect(await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(accessToken))).json()).toMatchObject({ code: "MFA_ALREADY_ENABLED", status: 409 });
    const unverified = (await (await t.request("POST", "/auth/register", { email: `u${Date.now()}@example.com`, password: "correct horse battery staple" })).json()) as { accessToken: string };
    expect(await (await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(unverified.accessToken))).json()).toMatchObject({ code: "EMAIL_NOT_VERIFIED" });
  });

  it("deleting TOTP ends the requirement, takes the recovery codes, mails and audits; a second delete is 404", async () => {
    const { accessToken, account, user } = await totpUser();
    expect((await t.request("DELETE", "/auth/mfa/totp", undefined, bearer(accessToken))).status).toBe(204);
    expect((await t.request("POST", "/auth/login", account)).status).toBe(200);
    expect(await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()).toMatchObject({ methods: [], recoveryCodesLeft: 0 });
    expect(await auditTypes(t, user.id)).toContain("mfa.disabled");
    expect(await subjectsTo(t, account.email)).toContain("A second factor was removed from your account");
    expect((await t.request("DELETE", "/auth/mfa/totp", undefined, bearer(accessToken))).status).toBe(404);
  });

  it("every change needs a recent authentication (STEP_UP_REQUIRED); confirming a started one does not", async () => {
    const { accessToken } = await totpUser();
    offsetMs += 301_000;
    for (const [method, path] of [
      ["POST", "/auth/mfa/totp/setup"],
      ["DELETE", "/auth/mfa/totp"],
      ["POST", "/auth/mfa/email/enable"],
      ["DELETE", "/auth/mfa/email"],
      ["POST", "/auth/mfa/recovery-codes"],
    ] as const) {
      const response = await t.request(method, path, undefined, bearer(accessToken));
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await response.json()).toMatchObject({ code: "STEP_UP_REQUIRED" });
    }
  });

  it("once a factor is on, changing factors needs a session that proved it: a password-only one is asked for aal2", async () => {
    const { accessToken: ownerToken, account, user } = await verifiedUser(t);
    // Signed in with the password (phished, say) before the owner set the app up: aal 1, and recent once re-authenticated.
    const other = (await (await t.request("POST", "/auth/login", account)).json()) as { accessToken: string };
    const { secret } = await enrolTotp(t, ownerToken, now());
    offsetMs += 3_600_000;
    const byPassword = await t.request("POST", "/auth/reauthenticate", { password: account.password }, bearer(other.accessToken));
    const { accessToken } = (await byPassword.json()) as { accessToken: string };
    expect(await sessionOf(accessToken)).toMatchObject({ aal: 1, amr: ["pwd"] });
    for (const [method, path] of [
      ["POST", "/auth/mfa/recovery-codes"],
      ["DELETE", "/auth/mfa/totp"],
      ["POST", "/auth/mfa/email/enable"],
      ["POST", "/auth/mfa/totp/setup"],
    ] as const) {
      const refused = await t.request(method, path, undefined, bearer(accessToken));
      expect(refused.status, `${method} ${path}`).toBe(401);
      expect(await refused.json()).toMatchObject({ code: "STEP_UP_REQUIRED", acrValues: "aal2" });
      expect(refused.headers.get("www-authenticate")).toContain('acr_values="aal2"');
    }
    // Nothing changed: the codes handed out at enrolment are still the only ones, the app still there.
    expect((await auditTypes(t, user.id)).filter((type) => type === "mfa.recovery_codes_generated")).toHaveLength(1);
    expect(await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()).toMatchObject({ methods: [{ type: "totp" }], recoveryCodesLeft: 10 });
    // The app's code raises the same session: both factors proven, so the change goes through.
    const byApp = await t.request("POST", "/auth/reauthenticate", { method: "totp", code: totpAt(secret, now()) }, bearer(accessToken));
    expect(byApp.status).toBe(200);
    const raised = ((await byApp.json()) as { accessToken: string }).accessToken;
    expect(await sessionOf(raised)).toMatchObject({ aal: 2, amr: ["pwd", "otp", "mfa"] });
    expect((await t.request("POST", "/auth/mfa/recovery-codes", undefined, bearer(raised))).status).toBe(200);
  });

  it("every route needs a session", async () => {
    for (const [method, path] of [
      ["GET", "/auth/mfa"],
      ["POST", "/auth/mfa/totp/setup"],
      ["POST", "/auth/mfa/totp/confirm"],
      ["POST", "/auth/mfa/email/enable"],
      ["POST", "/auth/mfa/recovery-codes"],
    ] as const) {
      expect((await t.request(method, path, method === "GET" ? undefined : { code: "123456" })).status, path).toBe(401);
    }
  });
});

describe("re-authenticating with a second factor", () => {
  const reauthenticate = (token: string, body: unknown) => t.request("POST", "/auth/reauthenticate", body, bearer(token));

  it("the app's code renews authTime (a sensitive action passes again); its replay and a wrong code do not", async () => {
    const { accessToken, secret, user } = await totpUser();
    offsetMs += 301_000;
    expect((await t.request("POST", "/auth/mfa/recovery-codes", undefined, bearer(accessToken))).status).toBe(401);
    const code = totpAt(secret, now());
    const wrong = await reauthenticate(accessToken, { method: "totp", code: otherCode(code) });
    expect(await wrong.json()).toMatchObject({ code: "MFA_INVALID_CODE", status: 400 });
    const right = await reauthenticate(accessToken, { method: "totp", code });
    expect(right.status, await right.clone().text()).toBe(200);
    const { accessToken: renewed } = (await right.json()) as { accessToken: string };
    expect((await t.request("POST", "/auth/mfa/recovery-codes", undefined, bearer(renewed))).status).toBe(200);
    expect((await reauthenticate(accessToken, { method: "totp", code })).status).toBe(400);
    const events = await auditTypes(t, user.id);
    expect(events.filter((type) => type === "session.reauthentication_failed")).toHaveLength(2);
    expect(events).toContain("session.reauthenticated");
  });

  it("a recovery code works once", async () => {
    const { accessToken, recoveryCodes } = await totpUser();
    expect((await reauthenticate(accessToken, { method: "recovery_code", code: recoveryCodes[1] })).status).toBe(200);
    expect((await reauthenticate(accessToken, { method: "recovery_code", code: recoveryCodes[1] })).status).toBe(400);
  });

  it("without the factor, a code is simply wrong", async () => {
    const { accessToken } = await verifiedUser(t);
    expect(await (await reauthenticate(accessToken, { method: "totp", code: "123456" })).json()).toMatchObject({ code: "MFA_INVALID_CODE" });
  });
});

describe("email codes as a second factor", () => {
  const enrolMail = /^Confirm email as your second factor$/;
  const signInMail = /^Your sign-in verification code$/;

  it("two-step enable: a mailed code confirms it; with TOTP already on, no new recovery codes", async () => {
    const { accessToken, account, user } = await totpUser();
    expect((await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken))).status).toBe(202);
    const code = await lastMailedCode(t, account.email, enrolMail);
    const wrong = await t.request("POST", "/auth/mfa/email/confirm", { code: otherCode(code) }, bearer(accessToken));
    expect(await wrong.json()).toMatchObject({ code: "MFA_INVALID_CODE", status: 400 });
    const right = await t.request("POST", "/auth/mfa/email/confirm", { code }, bearer(accessToken));
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({});
    expect(((await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()) as { methods: { type: string }[] }).methods.map((m) => m.type)).toEqual([
      "totp",
      "email",
    ]);
    expect((await auditTypes(t, user.id)).filter((type) => type === "mfa.enabled")).toHaveLength(2);
    expect((await t.request("DELETE", "/auth/mfa/email", undefined, bearer(accessToken))).status).toBe(204);
    expect(await auditTypes(t, user.id)).toContain("mfa.disabled");
    expect(await subjectsTo(t, account.email)).toContain("A second factor was removed from your account");
    expect((await loginExpectingMfa(t, account)).methods).toEqual(["totp", "recovery_code"]);
  });

  it("as the first factor it hands out recovery codes, and a password sign-in finishes with a mailed code at aal 2", async () => {
    const { accessToken, account } = await verifiedUser(t);
    await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    const confirmed = await t.request("POST", "/auth/mfa/email/confirm", { code: await lastMailedCode(t, account.email, enrolMail) }, bearer(accessToken));
    expect(((await confirmed.json()) as { recoveryCodes: string[] }).recoveryCodes).toHaveLength(10);
    const { mfaToken, methods } = await loginExpectingMfa(t, account);
    expect(methods).toEqual(["email", "recovery_code"]);
    expect((await verifyMfa(t, mfaToken, "email", "123456")).status).toBe(400);
    expect((await t.request("POST", "/auth/mfa/challenge", { mfaToken, method: "email" })).status).toBe(202);
    const response = await verifyMfa(t, mfaToken, "email", await lastMailedCode(t, account.email, signInMail));
    expect(response.status).toBe(200);
    expect(await sessionOf(((await response.json()) as { accessToken: string }).accessToken)).toMatchObject({ amr: ["pwd", "email", "mfa"], aal: 2 });
  });

  it("is not offered after an email-code sign-in: neither listed, nor mailed, nor accepted", async () => {
    const { accessToken, account, secret } = await totpUser();
    await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    await t.request("POST", "/auth/mfa/email/confirm", { code: await lastMailedCode(t, account.email, enrolMail) }, bearer(accessToken));
    const { challenge } = await createChallenge(t, account.email);
    const byCode = await verify(t, challenge, await lastCodeTo(t, account.email));
    expect(byCode.status).toBe(403);
    expect(byCode.headers.getSetCookie().filter((cookie) => cookie.startsWith("servauth.session="))).toEqual([]);
    const required = (await byCode.json()) as { mfaToken: string; methods: string[] };
    expect(required.methods).toEqual(["totp", "recovery_code"]);
    expect(await (await t.request("POST", "/auth/mfa/challenge", { mfaToken: required.mfaToken, method: "email" })).json()).toMatchObject({
      code: "MFA_CHALLENGE_INVALID",
    });
    expect(await (await verifyMfa(t, required.mfaToken, "email", "123456")).json()).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
    // TOTP still finishes it: two possession factors, so one kind, aal 1 (src/sessions/assurance.ts).
    offsetMs += STEP_MS;
    const done = await verifyMfa(t, required.mfaToken, "totp", totpAt(secret, now()));
    expect(done.status).toBe(200);
    expect(await sessionOf(((await done.json()) as { accessToken: string }).accessToken)).toMatchObject({ amr: ["email", "otp"], aal: 1 });
  });

  it("needs a verified address (403 EMAIL_NOT_VERIFIED)", async () => {
    const unverified = (await (await t.request("POST", "/auth/register", { email: `e${Date.now()}@example.com`, password: "correct horse battery staple" })).json()) as { accessToken: string };
    expect(await (await t.request("POST", "/auth/mfa/email/enable", undefined, bearer(unverified.accessToken))).json()).toMatchObject({ code: "EMAIL_NOT_VERIFIED", status: 403 });
  });
});

describe("the second factor's mail budgets", () => {
  const enrolMail = /^Confirm email as your second factor$/;
  let mailing: TestApp;
  beforeAll(async () => {
    mailing = await createTestApp(
      { RATE_LIMIT_OTP_SEND_DELAY: "1/30", RATE_LIMIT_OTP_SEND_ADDRESS: "2/900", RATE_LIMIT_MFA_SEND_TOKEN: "3/300", RATE_LIMIT_MFA_SEND_ACCOUNT: "10/900" },
      { now: () => new Date(now()) },
    );
  });
  afterAll(async () => {
    await mailing.close();
  });

  it("anonymous code requests for the address cannot block the second factor's mail: it has the account's own budget", async () => {
    const { accessToken, account } = await verifiedUser(mailing);
    await mailing.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    await mailing.request("POST", "/auth/mfa/email/confirm", { code: await lastMailedCode(mailing, account.email, enrolMail) }, bearer(accessToken));
    // Someone who knows only the address spends its one-time-code budget (here the resend delay).
    expect((await mailing.request("POST", "/auth/otp/create", { channel: "email", to: account.email, purpose: "sign-in" })).status).toBe(200);
    const { mfaToken } = await loginExpectingMfa(mailing, account);
    expect((await mailing.request("POST", "/auth/mfa/challenge", { mfaToken, method: "email" })).status).toBe(202);
  });

  it("an mfaToken gets 3 mails (RATE_LIMIT_MFA_SEND_TOKEN); then 429", async () => {
    const { accessToken, account } = await verifiedUser(mailing);
    await mailing.request("POST", "/auth/mfa/email/enable", undefined, bearer(accessToken));
    await mailing.request("POST", "/auth/mfa/email/confirm", { code: await lastMailedCode(mailing, account.email, enrolMail) }, bearer(accessToken));
    const { mfaToken } = await loginExpectingMfa(mailing, account);
    for (let i = 0; i < 3; i += 1) expect((await mailing.request("POST", "/auth/mfa/challenge", { mfaToken, method: "email" })).status).toBe(202);
    const refused = await mailing.request("POST", "/auth/mfa/challenge", { mfaToken, method: "email" });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "RATE_LIMITED" });
  });
});

describe("malformed codes", () => {
  const odd = ["１２３４５６", "é23456", "\u0000".repeat(6), "\ud800".repeat(6), "12345e", "İİİİ-İİİİ-İİİİ", "0".repeat(64)];

  it("non-ASCII or ill-formed codes are 400 VALIDATION_FAILED on every route that takes one, never a 500", async () => {
    const { account, accessToken } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    const fresh = await verifiedUser(t);
    await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(fresh.accessToken));
    for (const code of odd) {
      for (const method of ["totp", "recovery_code", "email"]) {
        expect(await (await verifyMfa(t, mfaToken, method, code)).json(), `verify ${method} ${code.slice(0, 12)}`).toMatchObject({ code: "VALIDATION_FAILED" });
      }
      for (const method of ["totp", "recovery_code"]) {
        const reauthenticated = await t.request("POST", "/auth/reauthenticate", { method, code }, bearer(accessToken));
        expect(reauthenticated.status, `reauthenticate ${method} ${code.slice(0, 12)}`).toBe(400);
      }
      for (const path of ["/auth/mfa/totp/confirm", "/auth/mfa/email/confirm"]) {
        expect((await t.request("POST", path, { code }, bearer(fresh.accessToken))).status, `${path} ${code.slice(0, 12)}`).toBe(400);
      }
    }
    // None of them cost the token an attempt.
    expect(await (await verifyMfa(t, mfaToken, "totp", "000000")).json()).toMatchObject({ attemptsLeft: 4 });
  });

  it("odd JSON bodies on the second-factor routes are 4xx, never a 500", async () => {
    const { account, accessToken } = await totpUser();
    const { mfaToken } = await loginExpectingMfa(t, account);
    const bodies: string[] = ["null", "[]", '"x"', "1", "{", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'];
    for (const code of [...odd, "1".repeat(100_000), 123456, null, [], {}, true]) for (const method of ["totp", "recovery_code", "email", "x", null]) bodies.push(JSON.stringify({ mfaToken, method, code }));
    for (const token of ["a".repeat(16), "a".repeat(129), "../../etc", "%00".repeat(8), `${mfaToken}\n`, 1]) bodies.push(JSON.stringify({ mfaToken: token, method: "totp", code: "123456" }));
    for (const path of ["/auth/mfa/verify", "/auth/mfa/challenge", "/auth/mfa/totp/confirm", "/auth/mfa/email/confirm", "/auth/reauthenticate"]) {
      for (const body of bodies) {
        const response = await t.app.request(path, { method: "POST", headers: { "content-type": "application/json", ...bearer(accessToken) }, body });
        expect(response.status, `${path} ${body.slice(0, 80)}`).toBeLessThan(500);
      }
    }
  }, 120_000);
});

describe("per-IP limit of the second-factor routes", () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await createTestApp({ RATE_LIMIT_MFA_VERIFY_IP: "3/900" });
  });
  afterAll(async () => {
    await limited.close();
  });

  it("verify and challenge share RATE_LIMIT_MFA_VERIFY_IP: past it 429 with Retry-After, whatever the token", async () => {
    const token = "B".repeat(43);
    expect((await limited.request("POST", "/auth/mfa/verify", { mfaToken: token, method: "totp", code: "123456" })).status).toBe(400);
    expect((await limited.request("POST", "/auth/mfa/challenge", { mfaToken: token, method: "email" })).status).toBe(400);
    expect((await limited.request("POST", "/auth/mfa/verify", { mfaToken: token, method: "totp", code: "123456" })).status).toBe(400);
    const refused = await limited.request("POST", "/auth/mfa/verify", { mfaToken: token, method: "totp", code: "123456" });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "RATE_LIMITED" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
