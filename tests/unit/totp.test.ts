import { HOTP, Secret, TOTP, URI } from "otpauth";
import { describe, expect, it } from "vitest";
import { createRecoveryCodeHasher, generateRecoveryCodes, normalizeRecoveryCode } from "../../src/mfa/recovery-codes.ts";
import { generateTotpSecret, matchTotpStep, totpUri } from "../../src/mfa/totp.ts";

/** RFC 6238 Appendix B: the seed for each hash is the ASCII digits repeated to the hash's natural key length. */
const SEEDS = {
  SHA1: "12345678901234567890",
  SHA256: "12345678901234567890123456789012",
  SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
} as const;

const RFC6238: Array<[seconds: number, sha1: string, sha256: string, sha512: string]> = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

/** RFC 4226 Appendix D: HOTP values for counters 0-9 with the 20-byte seed. */
const RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];

describe("otpauth against the RFC test vectors", () => {
  it.each(RFC6238)("RFC 6238 at T=%i s: SHA-1, SHA-256 and SHA-512 with 20/32/64-byte seeds", (seconds, sha1, sha256, sha512) => {
    for (const [algorithm, expected] of [["SHA1", sha1], ["SHA256", sha256], ["SHA512", sha512]] as const) {
      const secret = Secret.fromLatin1(SEEDS[algorithm]);
      expect(secret.bytes.length).toBe(SEEDS[algorithm].length);
      expect(TOTP.generate({ secret, algorithm, digits: 8, period: 30, timestamp: seconds * 1000 })).toBe(expected);
    }
  });

  it("RFC 4226 Appendix D: HOTP counters 0-9", () => {
    const secret = Secret.fromLatin1(SEEDS.SHA1);
    expect(RFC4226.map((_, counter) => HOTP.generate({ secret, digits: 6, counter }))).toEqual(RFC4226);
  });
});

describe("TOTP as the server uses it", () => {
  const secret = generateTotpSecret();
  const at = 1_750_000_005_000;
  const code = (ms: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: ms });
  const step = Math.floor(at / 30_000);

  it("a secret has at least 160 bits", () => {
    expect(Secret.fromBase32(secret).bytes.length).toBeGreaterThanOrEqual(20);
    expect(generateTotpSecret()).not.toBe(secret);
  });

  it("accepts the current step and one step of drift either way, naming the step the code belongs to", () => {
    expect(matchTotpStep(secret, code(at), at)).toBe(step);
    expect(matchTotpStep(secret, code(at - 30_000), at)).toBe(step - 1);
    expect(matchTotpStep(secret, code(at + 30_000), at)).toBe(step + 1);
  });

  it("refuses codes two steps away, and wrong or malformed codes", () => {
    expect(matchTotpStep(secret, code(at - 60_000), at)).toBeNull();
    expect(matchTotpStep(secret, code(at + 60_000), at)).toBeNull();
    expect(matchTotpStep(secret, "000000" === code(at) ? "111111" : "000000", at)).toBeNull();
    expect(matchTotpStep(secret, "12345", at)).toBeNull();
  });

  it("the otpauth URI carries SHA-1, 6 digits, 30 s, the issuer and the account", () => {
    const uri = totpUri(secret, "Servauth", "ann@example.com");
    const parsed = URI.parse(uri);
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed).toMatchObject({ issuer: "Servauth", label: "ann@example.com", algorithm: "SHA1", digits: 6, period: 30 });
    expect(parsed.secret.base32).toBe(secret);
  });
});

describe("recovery codes", () => {
  it("ten distinct codes of three groups of four, at least 50 bits each", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
    // 12 characters from a 32-letter alphabet: 60 bits.
    expect(12 * Math.log2(32)).toBeGreaterThanOrEqual(50);
  });

  it("typing is forgiving: case, spaces, dashes, and the letters that look like digits", () => {
    expect(normalizeRecoveryCode("7K2M Q9XD-4HTA")).toBe("7k2mq9xd4hta");
    expect(normalizeRecoveryCode("o0il-0000-0000")).toBe("0011" + "00000000");
    expect(normalizeRecoveryCode("7k2m-q9xd")).toBeNull();
    expect(normalizeRecoveryCode("7k2m-q9xd-4htu")).toBeNull();
  });

  it("hashes depend on AUTH_SECRET", () => {
    const one = createRecoveryCodeHasher("a".repeat(32));
    const other = createRecoveryCodeHasher("b".repeat(32));
    expect(one("7k2mq9xd4hta")).toBe(one("7k2mq9xd4hta"));
    expect(one("7k2mq9xd4hta")).not.toBe(other("7k2mq9xd4hta"));
  });
});
