import { compactDecrypt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOtpKeyBox, loadOtpKeys, rotateOtpKey } from "../../src/otp/otp-keys.ts";
import { type ChallengeState, sealState } from "../../src/otp/sealed-state.ts";
import { useMovableClock } from "../support/clock.ts";
import { createChallenge, lastCodeTo, mailCountTo, otherCode, problemCode, resend, verify } from "../support/otp.ts";
import { createTestApp, newAccount, registerUser, TEST_AUTH_SECRET, type TestApp } from "../support/test-app.ts";

const clock = useMovableClock();

/** The five failures of the reference design (issue 5), each with a regression test, plus multi-address and key rotation. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ OTP_RESEND_DELAY: "0" });
});
afterAll(async () => {
  await t.close();
});

const keyOptions = { rotationDays: 30, challengeTtlSeconds: 300 };

/** What a challenge holds, read with the server's own key (a test may look; a client cannot). */
async function stateOf(app: TestApp, challenge: string): Promise<ChallengeState> {
  const kid = decodeProtectedHeader(challenge).kid ?? "";
  const key = await app.services.otpKeys.find(kid);
  const { plaintext } = await compactDecrypt(challenge, key?.key ?? new Uint8Array(32));
  return JSON.parse(new TextDecoder().decode(plaintext)) as ChallengeState;
}

async function signInChallenge(app: TestApp = t) {
  const { account } = await registerUser(app);
  const { challenge } = await createChallenge(app, account.email);
  return { email: account.email, challenge, code: await lastCodeTo(app, account.email) };
}

describe("failure 1: a malformed but decryptable state never touches shared keys", () => {
  it.each<[string, (state: ChallengeState) => unknown]>([
    ["an extra field", (state) => ({ ...state, admin: true })],
    ["a current index out of range", (state) => ({ ...state, current: 7 })],
    ["a negative attempt count", (state) => ({ ...state, attemptsLeft: -1 })],
    ["no credentials", (state) => ({ ...state, credentials: [] })],
    ["a userId on a sign-in state", (state) => ({ ...state, userId: "00000000-0000-4000-8000-000000000000" })],
    ["a string instead of an object", (state) => state.id],
    ["null", () => null],
  ])("refuses %s with OTP_CHALLENGE_INVALID; the victim's challenge, whose id it names, still works", async (_name, corrupt) => {
    const victim = await signInChallenge();
    const sealed = await sealState(corrupt(await stateOf(t, victim.challenge)) as ChallengeState, t.services.otpKeys.current());
    for (const attempt of [verify(t, sealed, victim.code), resend(t, sealed)]) expect(await problemCode(await attempt)).toBe("OTP_CHALLENGE_INVALID");
    expect((await verify(t, victim.challenge, victim.code)).status).toBe(200);
  });
});

describe("failure 2: resend limits and delays are the server's", () => {
  it("counts resends in the sealed state and refuses past OTP_MAX_RESENDS, whatever the client sends", async () => {
    const { email, challenge: first } = await signInChallenge();
    let challenge = first;
    for (let i = 0; i < 3; i++) {
      const response = await resend(t, challenge);
      expect(response.status).toBe(200);
      challenge = (await response.json()).challenge;
    }
    expect(await mailCountTo(t, email)).toBe(4);
    const refused = await resend(t, challenge);
    expect(refused.status).toBe(429);
    expect(await problemCode(refused)).toBe("OTP_RESEND_LIMIT");
    // Going back to an earlier state, with fewer resends on it, does not help: it is spent.
    expect(await problemCode(await resend(t, first))).toBe("OTP_CHALLENGE_INVALID");
    expect(await mailCountTo(t, email)).toBe(4);
  });
});

describe("failure 3: a burned or blocked challenge refuses resends and stays consistent", () => {
  it("burns after OTP_MAX_ATTEMPTS wrong codes; neither resend nor the right code revive it", async () => {
    const { email, challenge: first, code } = await signInChallenge();
    let challenge = first;
    for (const attemptsLeft of [4, 3, 2, 1]) {
      const problem = await (await verify(t, challenge, otherCode(code))).json();
      expect(problem).toMatchObject({ code: "OTP_INVALID_CODE", attemptsLeft });
      challenge = problem.challenge;
    }
    const burned = await verify(t, challenge, otherCode(code));
    expect(await problemCode(burned)).toBe("OTP_TOO_MANY_ATTEMPTS");
    expect(burned.headers.getSetCookie().some((cookie) => /^servauth\.otp=;.*Max-Age=0/.test(cookie))).toBe(true);
    for (const state of [first, challenge]) {
      expect(await problemCode(await resend(t, state))).toBe("OTP_CHALLENGE_INVALID");
      expect(await problemCode(await verify(t, state, code))).toBe("OTP_CHALLENGE_INVALID");
    }
    expect(await mailCountTo(t, email)).toBe(1);
  });

  it("leaves a state refused a resend (too soon, limit) good for verifying", async () => {
    for (const env of [{ OTP_MAX_RESENDS: "0" }, { OTP_RESEND_DELAY: "30" }] as Record<string, string>[]) {
      const app = await createTestApp(env);
      try {
        const { challenge, code } = await signInChallenge(app);
        expect(await problemCode(await resend(app, challenge))).toBe(env.OTP_MAX_RESENDS ? "OTP_RESEND_LIMIT" : "OTP_RESEND_TOO_SOON");
        expect((await verify(app, challenge, code)).status).toBe(200);
      } finally {
        await app.close();
      }
    }
  });
});

describe("failure 4: a successful verify clears the state", () => {
  it("clears the cookie, and the same state presented again fails cleanly", async () => {
    const { challenge, code } = await signInChallenge();
    const passed = await verify(t, challenge, code);
    expect(passed.status).toBe(200);
    expect(passed.headers.getSetCookie().some((cookie) => /^servauth\.otp=;.*Max-Age=0/.test(cookie))).toBe(true);
    for (const again of [verify(t, challenge, code), resend(t, challenge)]) expect(await problemCode(await again)).toBe("OTP_CHALLENGE_INVALID");
  });
});

describe("failure 5: verify is atomic", () => {
  it.each([
    ["wrong", false],
    ["right", true],
  ])("lets exactly one of 100 parallel %s guesses on one state through; the rest are OTP_CHALLENGE_INVALID", async (_name, right) => {
    const { challenge, code } = await signInChallenge();
    const guess = right ? code : otherCode(code);
    const answers = await Promise.all(Array.from({ length: 100 }, () => verify(t, challenge, guess)));
    const codes = await Promise.all(answers.map(async (answer) => (answer.status === 200 ? "OK" : (await answer.json()).code)));
    expect(codes.filter((c) => c === (right ? "OK" : "OTP_INVALID_CODE"))).toHaveLength(1);
    expect(codes.filter((c) => c === "OTP_CHALLENGE_INVALID")).toHaveLength(99);
  });

  it("stores no code: the sealed state holds an HMAC of it", async () => {
    const { challenge, code } = await signInChallenge();
    const state = await stateOf(t, challenge);
    expect(JSON.stringify(state)).not.toContain(code);
    expect(state.credentials[0]?.codeHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe("several addresses in one challenge", () => {
  it("adds another address (mailed, current); switching back mails nothing; the cap is OTP_MAX_CREDENTIALS", async () => {
    const [a, b, c, d] = await Promise.all([registerUser(t), registerUser(t), registerUser(t), registerUser(t)]);
    const emails = [a, b, c, d].map((user) => user.account.email) as [string, string, string, string];
    const first = await createChallenge(t, emails[0]);
    const codeA = await lastCodeTo(t, emails[0]);
    const second = await createChallenge(t, emails[1], { challenge: first.challenge });
    expect(await mailCountTo(t, emails[1])).toBe(1);
    expect((await stateOf(t, second.challenge)).current).toBe(1);
    const third = await createChallenge(t, emails[2], { challenge: second.challenge });
    const tooMany = await t.request("POST", "/auth/otp/create", { channel: "email", to: emails[3], purpose: "sign-in", challenge: third.challenge });
    expect(await problemCode(tooMany)).toBe("OTP_TOO_MANY_CREDENTIALS");
    expect(await mailCountTo(t, emails[3])).toBe(0);
    const back = await createChallenge(t, emails[0], { challenge: third.challenge });
    expect(await mailCountTo(t, emails[0])).toBe(1);
    // The state presented to switch is spent; the new one verifies A's first code.
    expect(await problemCode(await verify(t, third.challenge, codeA))).toBe("OTP_CHALLENGE_INVALID");
    const response = await verify(t, back.challenge, codeA);
    expect(response.status).toBe(200);
    expect((await response.json()).user.email).toBe(emails[0]);
  });
});

describe("expiry", () => {
  it("answers OTP_EXPIRED after OTP_TTL, for verify and resend", async () => {
    const brief = await createTestApp({ OTP_TTL: "1", OTP_RESEND_DELAY: "0" });
    try {
      const { challenge, code } = await signInChallenge(brief);
      clock.advance(1_050);
      expect(await problemCode(await verify(brief, challenge, code))).toBe("OTP_EXPIRED");
      expect(await problemCode(await resend(brief, challenge))).toBe("OTP_EXPIRED");
      // The id expired with the state; the periodic purge removes it.
      await brief.services.otp.purgeExpired();
    } finally {
      await brief.close();
    }
  });
});

describe("key-encryption key rotation", () => {
  it("seals new challenges under the new key while challenges of the previous key still open", async () => {
    const before = await signInChallenge();
    const oldKid = decodeProtectedHeader(before.challenge).kid;
    const newKid = await rotateOtpKey(t.services.database, createOtpKeyBox(TEST_AUTH_SECRET), keyOptions);
    await t.services.otpKeys.reload();
    const after = await signInChallenge();
    expect(decodeProtectedHeader(after.challenge).kid).toBe(newKid);
    expect(newKid).not.toBe(oldKid);
    expect((await verify(t, before.challenge, before.code)).status).toBe(200);
    expect((await verify(t, after.challenge, after.code)).status).toBe(200);
  });

  it("rotates on its own once the current key is older than OTP_KEY_ROTATION_DAYS, and another instance finds the new kid", async () => {
    const box = createOtpKeyBox(TEST_AUTH_SECRET);
    const current = t.services.otpKeys.current();
    await t.db.execute(`update otp_keys set created_at = now() - interval '31 days' where kid = '${current.kid}'`);
    const other = await loadOtpKeys(t.services.database, box, keyOptions, t.services.logger);
    try {
      expect(other.current().kid).not.toBe(current.kid);
      expect(await t.services.otpKeys.find(other.current().kid)).toBeDefined();
      expect(await other.find(current.kid)).toBeDefined();
    } finally {
      other.close();
    }
  });

  it("a challenge sealed under an unknown key is OTP_CHALLENGE_INVALID", async () => {
    const { challenge } = await signInChallenge();
    const foreign = await sealState(await stateOf(t, challenge), { kid: "not-ours", key: new Uint8Array(32).fill(7), createdAt: new Date() });
    expect(await problemCode(await verify(t, foreign, "123456"))).toBe("OTP_CHALLENGE_INVALID");
  });
});

describe("abuse limits", () => {
  it("limits codes per address (create and resend count) and fails closed when the store is down", async () => {
    const limited = await createTestApp({ RATE_LIMIT_OTP_SEND_ADDRESS: "2/900", OTP_RESEND_DELAY: "0" });
    try {
      const email = newAccount().email;
      const { challenge } = await createChallenge(limited, email);
      expect((await resend(limited, challenge)).status).toBe(200);
      const third = await limited.request("POST", "/auth/otp/create", { channel: "email", to: email, purpose: "sign-in" });
      expect(third.status).toBe(429);
      expect(await problemCode(third)).toBe("RATE_LIMITED");
    } finally {
      await limited.close();
    }
    const failing = { hit: () => Promise.reject(new Error("down")), peek: () => Promise.reject(new Error("down")), hitInOrder: () => Promise.reject(new Error("down")), decrement: () => Promise.reject(new Error("down")), reset: async () => {}, close: async () => {} };
    const down = await createTestApp({ RATE_LIMIT_OTP_SEND_IP: "30/900" }, { rateLimitStore: failing });
    try {
      const response = await down.request("POST", "/auth/otp/create", { channel: "email", to: "a@example.com", purpose: "sign-in" });
      expect(await problemCode(response)).toBe("DEPENDENCY_UNAVAILABLE");
    } finally {
      await down.close();
    }
  });
});
