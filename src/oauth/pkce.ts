import { createHash, timingSafeEqual } from "node:crypto";

/**
 * RFC 7636 S256: BASE64URL(SHA-256(verifier)) is the challenge, compared in constant time as text (the canonical
 * encoding: a challenge spelled with other padding bits matches nothing).
 */
export function matchesS256Challenge(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash("sha256").update(verifier, "ascii").digest("base64url"));
  const expected = Buffer.from(challenge);
  return expected.length === computed.length && timingSafeEqual(computed, expected);
}
