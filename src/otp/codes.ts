import { createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

/** `length` decimal digits, uniform: crypto.randomInt draws without modulo bias (10^10 is below its 2^48 bound). */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length)
    .toString()
    .padStart(length, "0");
}

/** Exactly `length` ASCII digits, nothing before or after. */
export function isWellFormedCode(code: string, length: number): boolean {
  return code.length === length && /^[0-9]+$/.test(code);
}

/**
 * Codes are kept as HMAC-SHA-256 under a key derived from AUTH_SECRET, over a per-code nonce, the address and the
 * code: the sealed state never holds a code, and one hash says nothing about another. Compared in constant time.
 */
export function createCodeHasher(authSecret: string) {
  const key = Buffer.from(hkdfSync("sha256", authSecret, "servauth", "servauth:otp-codes", 32));
  const hash = (nonce: string, to: string, code: string) =>
    createHmac("sha256", key).update(`${nonce}\u0000${to}\u0000${code}`).digest();
  return {
    /** A new nonce and the hash of `code` under it. */
    hash(to: string, code: string): { nonce: string; codeHash: string } {
      const nonce = randomBytes(16).toString("base64url");
      return { nonce, codeHash: hash(nonce, to, code).toString("base64url") };
    },
    matches(credential: { nonce: string; to: string; codeHash: string }, code: string): boolean {
      const expected = Buffer.from(credential.codeHash, "base64url");
      const actual = hash(credential.nonce, credential.to, code);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}

export type CodeHasher = ReturnType<typeof createCodeHasher>;
