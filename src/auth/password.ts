import { randomBytes } from "node:crypto";
import { type Algorithm, hash, verify } from "@node-rs/argon2";

export type PasswordHasher = {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a hash it cannot read; never throws for either. */
  verify(passwordHash: string, password: string): Promise<boolean>;
};

/** OWASP Password Storage Cheat Sheet, argon2id option 2: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2ID = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
// @node-rs/argon2 declares Algorithm as an ambient const enum, which isolatedModules cannot read: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

/**
 * argon2id through @node-rs/argon2: the native work runs on the runtime's thread pool (libuv on Node, Bun's
 * pool on Bun), not on the event loop. Passwords are NFKC-normalized first so the same password typed on
 * different keyboards hashes the same (OWASP ASVS 5, V6.2).
 */
export function createArgon2Hasher(params: { memoryCost: number; timeCost: number; parallelism: number } = OWASP_ARGON2ID): PasswordHasher {
  const options = { ...params, algorithm: ARGON2ID };
  return {
    hash: (password) => hash(password.normalize("NFKC"), options),
    async verify(passwordHash, password) {
      try {
        return await verify(passwordHash, password.normalize("NFKC"), options);
      } catch {
        return false;
      }
    },
  };
}

/**
 * Verifies against a real hash when there is one and against a throw-away hash otherwise, so that an unknown
 * email costs exactly one argon2 verify, like a known one (no account enumeration through timing).
 */
export function createPasswordChecker(hasher: PasswordHasher) {
  // Made now, not on first use, so the first unknown email is not the one slow answer.
  const dummyHash = hasher.hash(randomBytes(16).toString("hex"));
  return async function checkPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
    if (passwordHash) return hasher.verify(passwordHash, password);
    await hasher.verify(await dummyHash, password);
    return false;
  };
}

export type PasswordChecker = ReturnType<typeof createPasswordChecker>;
