import { describe, expect, it } from "vitest";
import { createCodeHasher, generateCode, isWellFormedCode } from "../../src/otp/codes.ts";

describe("one-time codes", () => {
  it("have exactly the configured number of digits, leading zeros included, spread over every digit", () => {
    const codes = Array.from({ length: 2_000 }, () => generateCode(6));
    expect(codes.every((code) => /^[0-9]{6}$/.test(code))).toBe(true);
    expect(generateCode(10)).toMatch(/^[0-9]{10}$/);
    const counts = new Map<string, number>();
    for (const digit of codes.join("")) counts.set(digit, (counts.get(digit) ?? 0) + 1);
    // 12,000 digits: about 1,200 each; a biased or truncated generator falls far outside this band.
    for (const digit of "0123456789") expect(counts.get(digit)).toBeGreaterThan(1_000);
    expect(new Set(codes).size).toBeGreaterThan(1_990);
  });

  it("are checked whole: anchored, ASCII digits only", () => {
    expect(isWellFormedCode("012345", 6)).toBe(true);
    for (const bad of ["12345", "1234567", "12345\n", "123456\n", " 12345", "١٢٣٤٥٦", "12e456", ""]) expect(isWellFormedCode(bad, 6)).toBe(false);
  });

  it("are kept as a keyed HMAC, bound to the nonce and address, and matched only by the same code", () => {
    const hasher = createCodeHasher("a-secret-a-secret-a-secret-a-secret");
    const credential = { to: "ann@example.com", ...hasher.hash("ann@example.com", "123456") };
    expect(credential.codeHash).not.toContain("123456");
    expect(hasher.matches(credential, "123456")).toBe(true);
    expect(hasher.matches(credential, "123457")).toBe(false);
    expect(hasher.matches({ ...credential, to: "bob@example.com" }, "123456")).toBe(false);
    expect(hasher.matches({ ...credential, codeHash: "short" }, "123456")).toBe(false);
    const other = createCodeHasher("another-secret-another-secret-another");
    expect(other.matches(credential, "123456")).toBe(false);
  });
});
