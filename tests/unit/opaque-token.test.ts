import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateOpaqueToken, hashOpaqueToken } from "../../src/tokens/opaque-token.ts";

describe("generateOpaqueToken", () => {
  it("is 43 characters of unpadded base64url carrying 256 bits", () => {
    for (let i = 0; i < 100; i += 1) {
      const token = generateOpaqueToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const bytes = Buffer.from(token, "base64url");
      expect(bytes).toHaveLength(32);
      // Canonical encoding: decoding and re-encoding gives the same string.
      expect(bytes.toString("base64url")).toBe(token);
    }
  });

  it("never repeats", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateOpaqueToken()));
    expect(tokens.size).toBe(1000);
  });

  it("looks random: bytes spread over the whole range", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 500; i += 1) for (const byte of Buffer.from(generateOpaqueToken(), "base64url")) counts[byte] = (counts[byte] ?? 0) + 1;
    // 16,000 bytes over 256 values: ~62 each; a constant or counter-like generator leaves most values at zero.
    expect(counts.filter((count) => count === 0)).toHaveLength(0);
    expect(Math.max(...counts)).toBeLessThan(140);
  });
});

describe("hashOpaqueToken", () => {
  it("is deterministic", () => {
    const token = generateOpaqueToken();
    expect(hashOpaqueToken(token)).toBe(hashOpaqueToken(token));
  });

  it("differs from the token and does not contain it", () => {
    const token = generateOpaqueToken();
    const hashed = hashOpaqueToken(token);
    expect(hashed).not.toBe(token);
    expect(hashed).not.toContain(token);
  });

  it("is SHA-256 of the token, base64url", () => {
    const token = generateOpaqueToken();
    const hashed = hashOpaqueToken(token);
    expect(hashed).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashed).toBe(createHash("sha256").update(token).digest("base64url"));
    expect(hashOpaqueToken("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });

  it("different tokens hash differently, even when they differ by one character", () => {
    const token = generateOpaqueToken();
    const neighbour = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(hashOpaqueToken(token)).not.toBe(hashOpaqueToken(neighbour));
    const hashes = new Set(Array.from({ length: 200 }, () => hashOpaqueToken(generateOpaqueToken())));
    expect(hashes.size).toBe(200);
  });
});
