import { eq } from "drizzle-orm";
import { Secret, TOTP } from "otpauth";
import { expect } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { sessions } from "../../src/db/tables/sessions.ts";
import { users } from "../../src/db/tables/users.ts";
import { bearer, registerUser, type TestApp } from "./test-app.ts";
import { codeIn } from "./otp.ts";

/** The app's TOTP code at a time (ms), as an authenticator app would show it. */
export const totpAt = (secret: string, ms: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: ms });

export type MfaRequired = { code: "MFA_REQUIRED"; mfaToken: string; methods: string[]; expiresAt: string };

/** A registered user whose address is verified (what setting up a factor needs), with a fresh session. */
export async function verifiedUser(t: TestApp) {
  const registered = await registerUser(t);
  await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, registered.user.id));
  // As the verification itself does: every instance forgets the cached user.
  await t.services.bus.publish({ kind: "user", userId: registered.user.id });
  return registered;
}

/** Sets up and confirms TOTP for the session of `token` at `nowMs`; returns the secret and the recovery codes. */
export async function enrolTotp(t: TestApp, token: string, nowMs: number) {
  const setup = await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(token));
  expect(setup.status, await setup.clone().text()).toBe(200);
  const { secret } = (await setup.json()) as { secret: string };
  const confirm = await t.request("POST", "/auth/mfa/totp/confirm", { code: totpAt(secret, nowMs) }, bearer(token));
  expect(confirm.status, await confirm.clone().text()).toBe(200);
  const { recoveryCodes } = (await confirm.json()) as { recoveryCodes?: string[] };
  return { secret, recoveryCodes: recoveryCodes ?? [] };
}

/** POST /auth/login expecting MFA_REQUIRED; returns the problem's extensions. */
export async function loginExpectingMfa(t: TestApp, account: { email: string; password: string }): Promise<MfaRequired> {
  const response = await t.request("POST", "/auth/login", account);
  expect(response.status, await response.clone().text()).toBe(403);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(response.headers.getSetCookie()).toEqual([]);
  const body = (await response.json()) as MfaRequired;
  expect(body.code).toBe("MFA_REQUIRED");
  return body;
}

export const verifyMfa = (t: TestApp, mfaToken: string, method: string, code: string) => t.request("POST", "/auth/mfa/verify", { mfaToken, method, code });

export async function sessionCount(t: TestApp, userId: string): Promise<number> {
  return (await t.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId))).length;
}

export async function auditTypes(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.db.select({ type: auditEvents.type }).from(auditEvents).where(eq(auditEvents.userId, userId)).orderBy(auditEvents.createdAt);
  return rows.map((row) => row.type);
}

/** The subjects of the mail `to` got, once the queue has delivered. */
export async function subjectsTo(t: TestApp, to: string): Promise<string[]> {
  await t.services.mail.drain();
  return t.sentMail.filter((mail) => mail.to === to).map((mail) => mail.subject);
}

/** The code in the newest mail to `to` whose subject matches. */
export async function lastMailedCode(t: TestApp, to: string, subject: RegExp): Promise<string> {
  await t.services.mail.drain();
  const mail = t.sentMail.filter((message) => message.to === to && subject.test(message.subject)).at(-1);
  if (mail === undefined) throw new Error(`no mail to ${to} matching ${subject}`);
  return codeIn(mail);
}
