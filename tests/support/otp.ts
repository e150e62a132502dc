import { expect } from "vitest";
import type { TestApp } from "./test-app.ts";

export type ChallengeAnswer = { expiresAt: string; resendAvailableAt: string; challenge: string };
export type Purpose = "sign-in" | "verify-email" | "reauthenticate";

/** The code in a one-time-code mail: the line that is nothing but digits. */
export function codeIn(mail: { text: string }): string {
  const match = /^(\d{6,10})$/m.exec(mail.text);
  if (!match?.[1]) throw new Error(`no code in: ${mail.text}`);
  return match[1];
}

/** The newest code mailed to `to`, after the queue has delivered. */
export async function lastCodeTo(t: TestApp, to: string): Promise<string> {
  await t.services.mail.drain();
  const mail = codeMails(t, to).at(-1);
  if (mail === undefined) throw new Error(`no mail to ${to}`);
  return codeIn(mail);
}

export async function mailCountTo(t: TestApp, to: string): Promise<number> {
  await t.services.mail.drain();
  return codeMails(t, to).length;
}

/** One-time-code mails only (registration also mails a verification link). */
const codeMails = (t: TestApp, to: string) => t.sentMail.filter((message) => message.to === to && / code$/.test(message.subject));

/** POST /auth/otp/create as an API client; expects 200 and returns the answer. */
export async function createChallenge(
  t: TestApp,
  to: string,
  options: { purpose?: Purpose; challenge?: string; headers?: Record<string, string> } = {},
): Promise<ChallengeAnswer> {
  const body = { channel: "email", to, purpose: options.purpose ?? "sign-in", ...(options.challenge ? { challenge: options.challenge } : {}) };
  const response = await t.request("POST", "/auth/otp/create", body, options.headers);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ChallengeAnswer;
}

export function verify(t: TestApp, challenge: string, code: string, headers: Record<string, string> = {}) {
  return t.request("POST", "/auth/otp/verify", { challenge, code }, headers);
}

export function resend(t: TestApp, challenge: string) {
  return t.request("POST", "/auth/otp/resend", { challenge });
}

/** A code of the right shape that is not `code`. */
export const otherCode = (code: string) => code.replace(/\d$/, (digit) => String((Number(digit) + 1) % 10));

export async function problemCode(response: Response): Promise<string> {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return ((await response.json()) as { code: string }).code;
}
