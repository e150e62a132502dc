import { hash, randomBytes } from "node:crypto";

/** A bearer secret for a client: 256 bits from the CSPRNG, base64url. */
export function generateOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * What the database keeps instead of the token. The tokens carry 256 bits of entropy, so a plain SHA-256 is not
 * brute-forceable and lets the row be found by an index lookup on the hash (no secret-dependent comparison in
 * application code; the database compares hashes, which reveals nothing about the token).
 */
export function hashOpaqueToken(token: string): string {
  // The one-shot hash: half the cost of a createHash() object, on every cookie-authenticated request.
  return hash("sha256", token, "base64url");
}

/** The SHA-256 behind hashOpaqueToken, as bytes: what a constant-time comparison takes, with no text between. */
export function opaqueTokenDigest(token: string): Buffer {
  return hash("sha256", token, "buffer");
}
