import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../src/db/errors.ts";
import { openState, sealState, type ChallengeState } from "../../src/otp/sealed-state.ts";

/** A challenge whose key must be looked up while the database is down is a 503, not OTP_CHALLENGE_INVALID. */
const state: ChallengeState = {
  v: 1,
  id: randomBytes(16).toString("base64url"),
  purpose: "sign-in",
  userId: null,
  credentials: [
    {
      channel: "email",
      to: "ann@example.com",
      nonce: randomBytes(16).toString("base64url"),
      codeHash: randomBytes(32).toString("base64url"),
      expiresAt: Date.now() + 60_000,
      resendAvailableAt: Date.now(),
    },
  ],
  current: 0,
  attemptsLeft: 5,
  resends: 0,
};

it("lets a database outage during the key lookup through, and still refuses an unknown key as OTP_CHALLENGE_INVALID", async () => {
  const challenge = await sealState(state, { kid: "rotated-elsewhere", key: new Uint8Array(randomBytes(32)), createdAt: new Date() });
  const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const error = await openState(challenge, () => Promise.reject(outage)).catch((caught: unknown) => caught);
  // The outage itself, which the error handler answers 503; not an OTP_CHALLENGE_INVALID wrapping it.
  expect(error).toBe(outage);
  expect(isDatabaseUnavailable(error)).toBe(true);
  await expect(openState(challenge, async () => undefined)).rejects.toMatchObject({ code: "OTP_CHALLENGE_INVALID" });
});
