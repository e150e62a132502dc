import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { mfaChallenges } from "../db/tables/mfa.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import { generateOpaqueToken, hashOpaqueToken } from "../tokens/opaque-token.ts";

/** An mfaToken lives this long: enough to open an app or a mailbox, short for a stolen one. */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes one mfaToken takes; the last burns it. */
export const MFA_TOKEN_ATTEMPTS = 5;

export type MfaChallengeRow = typeof mfaChallenges.$inferSelect;

/**
 * Sign-ins halfway through: the mfaToken is an opaque 256-bit token (the client's only copy), stored as SHA-256.
 * Kept server-side rather than sealed on the client like the one-time-code state: the token stays the same through
 * wrong codes and an emailed code, so clients hold one value, and a wrong code is counted with one conditional
 * UPDATE on the row, which no replay of an older token can undo.
 */
export function createMfaChallenges(db: Database, now: () => Date) {
  const live = (tokenHash: string) =>
    and(eq(mfaChallenges.tokenHash, tokenHash), gt(mfaChallenges.expiresAt, now()), gt(mfaChallenges.attemptsLeft, 0));

  return {
    /** A new challenge for a proven first factor; returns the mfaToken and when it expires. */
    async create(userId: string, firstMethod: AuthMethod): Promise<{ mfaToken: string; expiresAt: Date }> {
      const mfaToken = generateOpaqueToken();
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + MFA_TOKEN_TTL_SECONDS * 1000);
      await db.insert(mfaChallenges).values({
        tokenHash: hashOpaqueToken(mfaToken),
        userId,
        firstMethod,
        firstProvenAt: createdAt,
        attemptsLeft: MFA_TOKEN_ATTEMPTS,
        expiresAt,
        createdAt,
      });
      return { mfaToken, expiresAt };
    },

    /** The live challenge behind a token: null if unknown, used, expired or burned. */
    async find(mfaToken: string): Promise<MfaChallengeRow | null> {
      const [row] = await db.select().from(mfaChallenges).where(live(hashOpaqueToken(mfaToken)));
      return row ?? null;
    },

    /**
     * Takes one attempt before a code is checked: the attempts left after it, or null if the token was no longer
     * live. One conditional UPDATE, so of concurrent codes on one token at most `attemptsLeft` are ever checked.
     */
    async reserveAttempt(id: string): Promise<number | null> {
      const [row] = await db
        .update(mfaChallenges)
        .set({ attemptsLeft: sql`${mfaChallenges.attemptsLeft} - 1` })
        .where(and(eq(mfaChallenges.id, id), gt(mfaChallenges.expiresAt, now()), gt(mfaChallenges.attemptsLeft, 0)))
        .returning({ attemptsLeft: mfaChallenges.attemptsLeft });
      return row?.attemptsLeft ?? null;
    },

    /** Hands a reserved attempt back (the code did not count: a replay, a secret that cannot be opened). */
    async giveBackAttempt(id: string): Promise<void> {
      await db.update(mfaChallenges).set({ attemptsLeft: sql`${mfaChallenges.attemptsLeft} + 1` }).where(eq(mfaChallenges.id, id));
    },

    /** A wrong code took the last attempt: the token is gone. */
    async burn(id: string): Promise<void> {
      await db.delete(mfaChallenges).where(eq(mfaChallenges.id, id));
    },

    /**
     * Claims the token for a right code, before the factor is spent: the row, for exactly one of any number of
     * concurrent calls (null for the others). Its reserved attempt is already taken, so attemptsLeft may be 0.
     */
    async claim(id: string): Promise<MfaChallengeRow | null> {
      const [row] = await db.delete(mfaChallenges).where(and(eq(mfaChallenges.id, id), gt(mfaChallenges.expiresAt, now()))).returning();
      return row ?? null;
    },

    /** Puts a claimed token back, with its reserved attempt returned: the factor turned out to be spent already. */
    async restore(row: MfaChallengeRow): Promise<void> {
      await db.insert(mfaChallenges).values({ ...row, attemptsLeft: row.attemptsLeft + 1 }).onConflictDoNothing();
    },

    /**
     * Ends every sign-in of the user waiting for a second factor: the first factor it proved no longer stands (the
     * password changed or was reset, all sessions were revoked, a factor was removed).
     */
    async revokeAll(userId: string): Promise<void> {
      await db.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
    },

    /** Keeps the hash of an emailed code ("nonce.hmac") on the challenge, replacing an earlier one. */
    async saveEmailCode(id: string, codeHash: string, expiresAt: Date): Promise<void> {
      await db.update(mfaChallenges).set({ emailCodeHash: codeHash, emailCodeExpiresAt: expiresAt }).where(eq(mfaChallenges.id, id));
    },

    async purgeExpired(): Promise<void> {
      await db.delete(mfaChallenges).where(lte(mfaChallenges.expiresAt, now()));
    },
  };
}

export type MfaChallenges = ReturnType<typeof createMfaChallenges>;
