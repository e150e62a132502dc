import { and, count, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { mfaChallenges, recoveryCodes, type SecondFactorType, secondFactors } from "../db/tables/mfa.ts";
import { users } from "../db/tables/users.ts";

export type SecondFactorRow = typeof secondFactors.$inferSelect;

/**
 * The second factors and recovery codes in the database. Every use of a code is one conditional UPDATE, so of
 * concurrent uses of one TOTP step or one recovery code exactly one succeeds; users.mfa_enabled changes in the same
 * transaction as the factors it summarises.
 */
export function createFactorStore(db: Database) {
  const ofUser = (userId: string, type: SecondFactorType) => and(eq(secondFactors.userId, userId), eq(secondFactors.type, type));
  const confirmed = isNotNull(secondFactors.confirmedAt);

  return {
    async list(userId: string): Promise<SecondFactorRow[]> {
      return db.select().from(secondFactors).where(eq(secondFactors.userId, userId)).orderBy(secondFactors.createdAt);
    },

    async find(userId: string, type: SecondFactorType): Promise<SecondFactorRow | null> {
      const [row] = await db.select().from(secondFactors).where(ofUser(userId, type));
      return row ?? null;
    },

    async recoveryCodesLeft(userId: string): Promise<number> {
      const [row] = await db
        .select({ left: count() })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
      return row?.left ?? 0;
    },

    /**
     * Starts (or restarts) an enrolment: a pending row with these values, replacing a pending one. False if the
     * factor is already confirmed (a confirmed factor is only replaced by deleting it first).
     */
    async savePending(userId: string, type: SecondFactorType, values: Pick<SecondFactorRow, "sealedSecret" | "pendingCodeHash" | "pendingCodeExpiresAt">): Promise<boolean> {
      const now = new Date();
      const saved = await db
        .insert(secondFactors)
        .values({ userId, type, ...values, createdAt: now })
        .onConflictDoUpdate({
          target: [secondFactors.userId, secondFactors.type],
          set: { ...values, createdAt: now, lastUsedStep: null, lastUsedAt: null },
          setWhere: isNull(secondFactors.confirmedAt),
        })
        .returning({ id: secondFactors.id });
      return saved.length === 1;
    },

    /**
     * Confirms the pending factor (with, for TOTP, the step its code used) and marks the user as having a second
     * factor; the first factor also gets recovery codes (`newCodeHashes`) when the user has none left. Null if
     * nothing was pending; else whether the codes were stored.
     */
    async confirm(userId: string, type: SecondFactorType, at: Date, step: number | null, newCodeHashes: string[]): Promise<{ codesStored: boolean } | null> {
      return db.transaction(async (tx) => {
        const [done] = await tx
          .update(secondFactors)
          .set({ confirmedAt: at, lastUsedAt: at, lastUsedStep: step, pendingCodeHash: null, pendingCodeExpiresAt: null })
          .where(and(ofUser(userId, type), isNull(secondFactors.confirmedAt)))
          .returning({ id: secondFactors.id });
        if (done === undefined) return null;
        await tx.update(users).set({ mfaEnabled: true }).where(eq(users.id, userId));
        const [unused] = await tx
          .select({ id: recoveryCodes.id })
          .from(recoveryCodes)
          .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
          .limit(1);
        if (unused !== undefined) return { codesStored: false };
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
        await tx.insert(recoveryCodes).values(newCodeHashes.map((codeHash) => ({ userId, codeHash })));
        return { codesStored: true };
      });
    },

    /** Accepts a TOTP time step once: false if this step (or a later one) was already used. */
    async acceptTotpStep(userId: string, step: number, at: Date): Promise<boolean> {
      const accepted = await db
        .update(secondFactors)
        .set({ lastUsedStep: step, lastUsedAt: at })
        .where(and(ofUser(userId, "totp"), confirmed, or(isNull(secondFactors.lastUsedStep), lt(secondFactors.lastUsedStep, step))))
        .returning({ id: secondFactors.id });
      return accepted.length === 1;
    },

    async touch(userId: string, type: SecondFactorType, at: Date): Promise<void> {
      await db.update(secondFactors).set({ lastUsedAt: at }).where(ofUser(userId, type));
    },

    async hasUnusedRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
      const [row] = await db
        .select({ id: recoveryCodes.id })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)));
      return row !== undefined;
    },

    /** Marks one unused recovery code used; false if it is unknown or already used. */
    async useRecoveryCode(userId: string, codeHash: string, at: Date): Promise<boolean> {
      const used = await db
        .update(recoveryCodes)
        .set({ usedAt: at })
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
        .returning({ id: recoveryCodes.id });
      return used.length === 1;
    },

    /** The user's recovery codes become these; the old ones stop working. False if the user has no confirmed factor. */
    async replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<boolean> {
      return db.transaction(async (tx) => {
        // The user row lock orders this against a concurrent removal of the last factor.
        const [user] = await tx.select({ mfaEnabled: users.mfaEnabled }).from(users).where(eq(users.id, userId)).for("update");
        if (user?.mfaEnabled !== true) return false;
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
        await tx.insert(recoveryCodes).values(codeHashes.map((codeHash) => ({ userId, codeHash })));
        return true;
      });
    },

    /**
     * Removes a factor: "removed" if it was confirmed (ending the user's sign-ins waiting for a second factor),
     * "discarded" if only pending. Removing the last confirmed one also removes the recovery codes and
     * clears users.mfa_enabled, unless `keepOne` (MFA_POLICY=required) refuses it. Under the user row's lock, so
     * two removals cannot each see the other factor still there.
     */
    async remove(userId: string, type: SecondFactorType, keepOne: boolean): Promise<"removed" | "discarded" | "not-found" | "last-factor"> {
      return db.transaction(async (tx) => {
        await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
        const rows = await tx.select().from(secondFactors).where(eq(secondFactors.userId, userId));
        const target = rows.find((row) => row.type === type);
        if (target === undefined) return "not-found";
        const othersConfirmed = rows.some((row) => row.type !== type && row.confirmedAt !== null);
        if (target.confirmedAt !== null && !othersConfirmed && keepOne) return "last-factor";
        await tx.delete(secondFactors).where(eq(secondFactors.id, target.id));
        // A sign-in waiting for a second factor was offered the removed one: it starts again.
        if (target.confirmedAt !== null) await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
        if (!othersConfirmed) {
          await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
          await tx.update(users).set({ mfaEnabled: false }).where(eq(users.id, userId));
        }
        return target.confirmedAt === null ? "discarded" : "removed";
      });
    },

    /**
     * Every factor (pending ones too), the recovery codes and the sign-ins waiting for a second factor go, and
     * users.mfa_enabled is cleared: an administrator's reset for a user who lost every factor. The types that were
     * confirmed, none if the user had no second factor.
     */
    async removeAll(userId: string): Promise<SecondFactorType[]> {
      return db.transaction(async (tx) => {
        await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
        const removed = await tx.delete(secondFactors).where(eq(secondFactors.userId, userId)).returning();
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
        await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
        await tx.update(users).set({ mfaEnabled: false }).where(eq(users.id, userId));
        return removed.flatMap((row) => (row.confirmedAt === null ? [] : [row.type]));
      });
    },
  };
}

export type FactorStore = ReturnType<typeof createFactorStore>;
