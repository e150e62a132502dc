import { createHmac, hkdfSync, randomInt } from "node:crypto";

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet: no I, L, O or U, so nothing reads as another character. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** 12 characters of 5 bits: 60 bits each (the contract asks at least 50), shown as three groups of four. */
const GROUPS = 3;
const GROUP_LENGTH = 4;

/** Ten fresh codes in their readable form, e.g. "7k2m-q9xd-4hta". */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    Array.from({ length: GROUPS }, () => Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join("")).join("-"),
  );
}

/**
 * What a person typed, as the code it stands for: case, spaces and dashes do not matter, and the letters
 * Crockford's alphabet leaves out are read as the digits they look like. Null if it cannot be a code.
 */
export function normalizeRecoveryCode(typed: string): string | null {
  const compact = typed.toLowerCase().replace(/[\s-]/g, "").replace(/[io]/g, (c) => (c === "o" ? "0" : "1")).replace(/l/g, "1");
  return compact.length === GROUPS * GROUP_LENGTH && [...compact].every((c) => ALPHABET.includes(c)) ? compact : null;
}

/**
 * Codes are stored as HMAC-SHA-256 under a key derived from AUTH_SECRET: 60 random bits need no slow hash, and a
 * database dump alone does not even allow an offline guess.
 */
export function createRecoveryCodeHasher(authSecret: string) {
  const key = Buffer.from(hkdfSync("sha256", authSecret, "servauth", "servauth:recovery-codes", 32));
  return (normalized: string) => createHmac("sha256", key).update(normalized).digest("base64url");
}
