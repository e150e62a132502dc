import { randomBytes } from "node:crypto";
import { lt } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { verifications } from "../db/tables/accounts.ts";
import type { Auth } from "./better-auth.ts";

/** `reset-password` is Better-Auth's own: a token issued with it is consumed by POST /auth/reset-password. */
export type TokenPurpose = "verify-email" | "cancel-deletion" | "reset-password";

/**
 * Single-use tokens in Better-Auth's verification table. The token is 256 bits from the CSPRNG; Better-Auth stores
 * only a hash of `purpose:token` (storeIdentifier "hashed") and consumes it atomically: of two parallel uses, one
 * gets the value and the other null. Expired tokens consume to null.
 */
export function createVerificationTokens(auth: Auth, db: Database) {
  return {
    async issue(purpose: TokenPurpose, value: string, ttlSeconds: number): Promise<string> {
      const token = randomBytes(32).toString("base64url");
      const { internalAdapter } = await auth.$context;
      await internalAdapter.createVerificationValue({
        identifier: `${purpose}:${token}`,
        value,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      });
      return token;
    },

    async consume(purpose: TokenPurpose, token: string): Promise<string | null> {
      const { internalAdapter } = await auth.$context;
      return (await internalAdapter.consumeVerificationValue(`${purpose}:${token}`))?.value ?? null;
    },

    /**
     * Deletes expired tokens, which no use can consume any more: a token that is never used (most reset and
     * verification mails) would otherwise stay forever, one row per request. By `Date`, the clock Better-Auth
     * judges expiry by.
     */
    async purgeExpired(): Promise<number> {
      const rows = await db.delete(verifications).where(lt(verifications.expiresAt, new Date())).returning({ id: verifications.id });
      return rows.length;
    },
  };
}

export type VerificationTokens = ReturnType<typeof createVerificationTokens>;
