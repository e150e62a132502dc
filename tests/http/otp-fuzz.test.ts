import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChallenge } from "../support/otp.ts";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * Property-based fuzz of the sealed state: whatever a client makes of a real challenge (random bytes, truncations,
 * bit flips, spliced parts), verify and resend answer a clean 400 problem, never a 500 and never a success.
 */
let t: TestApp;
let real: string;
beforeAll(async () => {
  t = await createTestApp({ OTP_RESEND_DELAY: "0" });
  const { account } = await registerUser(t);
  real = (await createChallenge(t, account.email)).challenge;
});
afterAll(async () => {
  await t.close();
});

const RUNS = 300;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function flipBit(challenge: string, position: number, bit: number): string {
  const index = position % challenge.length;
  const char = challenge[index] ?? "A";
  // Within the base64url alphabet where the character is one of it, so the change reaches the decoder.
  const at = ALPHABET.indexOf(char);
  const flipped = at < 0 ? String.fromCharCode(char.charCodeAt(0) ^ (1 << bit % 7)) : (ALPHABET[(at ^ (1 << bit % 6)) % 64] ?? "A");
  return challenge.slice(0, index) + flipped + challenge.slice(index + 1);
}

const mutations = fc.oneof(
  fc.string({ maxLength: 600 }),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 5, maxLength: 5 }).map((parts) => parts.map((p) => Buffer.from(p).toString("base64url")).join(".")),
  fc.nat().map((cut) => real.slice(0, cut % real.length)),
  fc.tuple(fc.nat(), fc.nat()).map(([position, bit]) => flipBit(real, position, bit)),
  fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).map(([a, b, c, d]) => flipBit(flipBit(real, a, b), c, d)),
  fc.tuple(fc.nat({ max: 4 }), fc.string({ maxLength: 60 })).map(([part, text]) => {
    const parts = real.split(".");
    parts[part] = text;
    return parts.join(".");
  }),
  fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 })).map(([a, b]) => {
    const parts = real.split(".");
    [parts[a], parts[b]] = [parts[b] ?? "", parts[a] ?? ""];
    return parts.join(".");
  }),
);

describe("a mangled challenge", () => {
  it("always gets a clean 400 from verify and resend", async () => {
    await fc.assert(
      fc.asyncProperty(mutations, async (challenge) => {
        fc.pre(challenge !== real);
        for (const response of [
          await t.request("POST", "/auth/otp/verify", { challenge, code: "123456" }),
          await t.request("POST", "/auth/otp/resend", { challenge }),
        ]) {
          expect(response.status).toBe(400);
          const body = await response.json();
          expect(["OTP_CHALLENGE_INVALID", "VALIDATION_FAILED"]).toContain(body.code);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("leaves the real challenge working", async () => {
    expect((await t.request("POST", "/auth/otp/resend", { challenge: real })).status).toBe(200);
  });
});

describe("the spelling of a challenge", () => {
  it("is unique: a last character whose spare bits differ is refused", async () => {
    const { account } = await registerUser(t);
    const { challenge } = await createChallenge(t, account.email);
    const parts = challenge.split(".");
    const tag = parts[4] ?? "";
    // 16 bytes are 22 characters with 4 spare bits in the last one.
    const last = ALPHABET.indexOf(tag.at(-1) ?? "A");
    parts[4] = tag.slice(0, -1) + (ALPHABET[last ^ 1] ?? "A");
    expect(Buffer.from(parts[4], "base64url")).toEqual(Buffer.from(tag, "base64url"));
    const response = await t.request("POST", "/auth/otp/verify", { challenge: parts.join("."), code: "123456" });
    expect((await response.json()).code).toBe("OTP_CHALLENGE_INVALID");
  });
});
