import { createHash } from "node:crypto";
import { and, eq, gt, lte } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { otpChallengeIds } from "../db/tables/otp.ts";

/**
 * The server's only memory of challenges: the ids of live states. `consume` must be atomic: of any number of
 * concurrent consumptions of one id, exactly one returns true.
 */
export type SingleUseIds = {
  issue(id: string, expiresAt: Date): Promise<void>;
  /** True once per issued, unexpired id; false for an unknown, spent or expired one. */
  consume(id: string): Promise<boolean>;
  /**
   * Whether the id is issued, unspent and unexpired, without spending it: lets a refusal that keeps the state
   * (a resend too soon) tell a spent state from a live one. Only `consume` decides who may act on a state.
   */
  isLive(id: string): Promise<boolean>;
  /** Removes expired ids (the Redis store lets them expire on their own). */
  purgeExpired(): Promise<void>;
  close(): Promise<void>;
};

/** Ids are stored hashed: a database dump holds nothing a client presents. */
export const hashId = (id: string) => createHash("sha256").update(id).digest("base64url");

/** In PostgreSQL (or PGlite): shared by every instance on the database, kept across restarts. */
export function createDatabaseSingleUseIds(db: Database): SingleUseIds {
  return {
    async issue(id, expiresAt) {
      await db.insert(otpChallengeIds).values({ idHash: hashId(id), expiresAt });
    },
    async consume(id) {
      const deleted = await db
        .delete(otpChallengeIds)
        .where(and(eq(otpChallengeIds.idHash, hashId(id)), gt(otpChallengeIds.expiresAt, new Date())))
        .returning({ idHash: otpChallengeIds.idHash });
      return deleted.length === 1;
    },
    async isLive(id) {
      const [row] = await db
        .select({ idHash: otpChallengeIds.idHash })
        .from(otpChallengeIds)
        .where(and(eq(otpChallengeIds.idHash, hashId(id)), gt(otpChallengeIds.expiresAt, new Date())));
      return row !== undefined;
    },
    async purgeExpired() {
      await db.delete(otpChallengeIds).where(lte(otpChallengeIds.expiresAt, new Date()));
    },
    close: async () => {},
  };
}
