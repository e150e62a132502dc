import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";
import { createCountingHasher, measureWork, type Work } from "../support/work-counter.ts";

/**
 * Known and unknown accounts must be told apart neither by the answer nor by its timing. Timing is judged by the
 * work each request does on its own time (password verifies, mail-queue operations, database round trips),
 * counted rather than clocked (tests/support/work-counter.ts): skipping the argon2 verify for an unknown email
 * would show as one verify fewer, whatever the machine's load. REQUIRE_EMAIL_VERIFICATION's own cases are in
 * enumeration-work.test.ts.
 */
let t: TestApp;
const { hasher, counts } = createCountingHasher();

beforeAll(async () => {
  t = await createTestApp({}, { hasher });
});
afterAll(async () => {
  await t.close();
});

/** What an answer would tell, with the values that differ on every call anyway (one-time challenges) by name only. */
function withoutPerCallValues(work: Work): Work {
  const perCall = new Set(["challenge", "expiresAt", "resendAvailableAt"]);
  const body = Object.fromEntries(Object.entries(work.body as Record<string, unknown>).map(([key, value]) => [key, perCall.has(key) ? typeof value : value]));
  return { ...work, body };
}

/** The known address and a fresh unknown one, asked twice each: the second round is the one compared (warm caches). */
async function compare(ask: (email: string) => Response | Promise<Response>, knownEmail: string) {
  await measureWork(t, counts, () => ask(knownEmail));
  await measureWork(t, counts, () => ask(newAccount().email));
  const known = withoutPerCallValues(await measureWork(t, counts, () => ask(knownEmail)));
  const unknown = withoutPerCallValues(await measureWork(t, counts, () => ask(newAccount().email)));
  return { known, unknown };
}

describe("enumeration resistance", () => {
  it("login: a wrong password for a known email and any password for an unknown one answer alike after the same work", async () => {
    const { account } = await registerUser(t);
    const { known, unknown } = await compare((email) => t.request("POST", "/auth/login", { email, password: "a wrong password, surely" }), account.email);
    expect(known).toEqual(unknown);
    expect(known).toMatchObject({ status: 401, body: { code: "INVALID_CREDENTIALS" }, verify: 1 });
  });

  // The known address is unverified, so resend-verification really mails it.
  it.each(["/auth/forgot-password", "/auth/resend-verification"])("%s: the same answer after the same work for a known and an unknown email", async (path) => {
    const { account } = await registerUser(t);
    const { known, unknown } = await compare((email) => t.request("POST", path, { email }), account.email);
    expect(known).toEqual(unknown);
    expect(known).toMatchObject({ status: 202, body: {} });
  });

  it("otp/create: the same answer after the same work for a known and an unknown address (no code goes to the unknown one)", async () => {
    const { account } = await registerUser(t);
    const create = (to: string) => t.request("POST", "/auth/otp/create", { channel: "email", to, purpose: "sign-in" });
    const { known, unknown } = await compare(create, account.email);
    expect(known).toEqual(unknown);
    expect(known.status).toBe(200);
  });
});
