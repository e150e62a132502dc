import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArgon2Hasher } from "../../src/auth/password.ts";
import { createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * Known and unknown accounts must be told apart neither by the answer nor by its timing. Each endpoint is asked
 * SAMPLES times about a known and about an unknown address, interleaved (so drift on a busy machine hits both
 * alike), and the trimmed means must be within TOLERANCE_MS. The login runs with production argon2 parameters:
 * skipping the hash for unknown emails would show as a gap of a whole verify (15+ ms), far beyond the tolerance.
 */
const SAMPLES = 30;
const TOLERANCE_MS = 5;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { hasher: createArgon2Hasher() });
});
afterAll(async () => {
  await t.close();
});

/** The mean without the fastest and slowest 10%: one scheduling hiccup must not decide the comparison. */
function trimmedMean(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 10);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((sum, value) => sum + value, 0) / kept.length;
}

type Answer = { status: number; body: string };

/**
 * What an answer would tell: its values, except those that differ on every call anyway (one-time code
 * challenges and their times), which count by name only.
 */
function shapeOf(body: Record<string, unknown>): Record<string, unknown> {
  const perCall = new Set(["challenge", "expiresAt", "resendAvailableAt"]);
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, perCall.has(key) ? typeof value : value]));
}

async function timed(send: () => Response | Promise<Response>): Promise<[number, Answer]> {
  const started = performance.now();
  const response = await send();
  const { requestId: _differsAlways, ...body } = (await response.json()) as Record<string, unknown>;
  return [performance.now() - started, { status: response.status, body: JSON.stringify(shapeOf(body)) }];
}

/** Asks about the known and an unknown address in turn; returns both timings and every distinct answer. */
async function compare(ask: (email: string) => Response | Promise<Response>, known: () => string) {
  await ask(known());
  await ask(newAccount().email);
  const timings = { known: [] as number[], unknown: [] as number[] };
  const answers = { known: new Set<string>(), unknown: new Set<string>() };
  for (let i = 0; i < SAMPLES; i++) {
    for (const which of ["known", "unknown"] as const) {
      const [ms, answer] = await timed(() => ask(which === "known" ? known() : newAccount().email));
      timings[which].push(ms);
      answers[which].add(`${answer.status} ${answer.body}`);
    }
  }
  return { known: trimmedMean(timings.known), unknown: trimmedMean(timings.unknown), answers };
}

describe("enumeration resistance", () => {
  it("login: a wrong password for a known email and any password for an unknown one look alike", async () => {
    const { account } = await registerUser(t);
    const result = await compare((email) => t.request("POST", "/auth/login", { email, password: "a wrong password, surely" }), () => account.email);
    expect([...result.answers.known]).toEqual([...result.answers.unknown]);
    expect(result.answers.known.size).toBe(1);
    expect(Math.abs(result.known - result.unknown), JSON.stringify(result)).toBeLessThan(TOLERANCE_MS);
  });

  // The known address is unverified, so resend-verification really mails it.
  it.each(["/auth/forgot-password", "/auth/resend-verification"])("%s: the same answer and timing for a known and an unknown email", async (path) => {
    const { account } = await registerUser(t);
    const result = await compare((email) => t.request("POST", path, { email }), () => account.email);
    expect([...result.answers.known]).toEqual(["202 {}"]);
    expect([...result.answers.unknown]).toEqual(["202 {}"]);
    expect(Math.abs(result.known - result.unknown), JSON.stringify(result)).toBeLessThan(TOLERANCE_MS);
  });

  it("otp/create: the same answer and timing for a known and an unknown address (no code goes to the unknown one)", async () => {
    const { account } = await registerUser(t);
    const create = (to: string) => t.request("POST", "/auth/otp/create", { channel: "email", to, purpose: "sign-in" });
    const result = await compare(create, () => account.email);
    expect([...result.answers.known]).toEqual([...result.answers.unknown]);
    expect(result.answers.known.size).toBe(1);
    expect(Math.abs(result.known - result.unknown), JSON.stringify(result)).toBeLessThan(TOLERANCE_MS);
  });
});
