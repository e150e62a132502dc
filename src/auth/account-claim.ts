import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { accounts } from "../db/tables/accounts.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { UserRow } from "./users.ts";

/** The user after the owner proved the mailbox; `evicted`: what a claim took from an unverified registrant. */
export type MailboxProof = {
  user: UserRow;
  evicted: { passwordRemoved: boolean; identitiesRemoved: number; revokedSessionIds: string[] } | null;
};

/**
 * Anyone can register someone else's address with a password of their own and wait: a registration that was
 * never verified proves nothing. When the address's owner proves the mailbox (a correct sign-in code), the
 * registrant is evicted before the owner gets a session: the password goes, so does every linked social identity,
 * every session goes, and the address becomes verified. A scheduled deletion stays: its cancel link went to the mailbox, which the owner reads.
 *
 * The user row is locked FOR UPDATE first: a session insert (its foreign key takes KEY SHARE on the row) waits
 * for the claim, and one that was already in flight is committed before the claim deletes sessions.
 */
export function createAccountClaim(db: Database, bus: RevocationBus) {
  return {
    /**
     * The mailbox of the user's address was proven: the user as it is now, after evicting the registrant if the
     * address was unverified (`evicted` null if it was verified already). Null if the user is gone or has another
     * address now.
     */
    async proveMailbox(userId: string, email: string): Promise<MailboxProof | null> {
      const proof = await db.transaction(async (tx): Promise<MailboxProof | null> => {
        // The address too: an account whose address changed since the code was mailed proves nothing about it.
        const [locked] = await tx
          .select()
          .from(users)
          .where(and(eq(users.id, userId), eq(users.email, email)))
          .for("update");
        if (locked === undefined) return null;
        if (locked.emailVerified) return { user: locked, evicted: null };
        // Every way in goes: the password, and any social identity linked while the address was unproven.
        const removed = await tx.delete(accounts).where(eq(accounts.userId, userId)).returning({ providerId: accounts.providerId });
        const passwordRemoved = removed.some((row) => row.providerId === "credential");
        const revoked = await tx.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
        const [user] = await tx
          .update(users)
          .set({ emailVerified: true })
          .where(eq(users.id, userId))
          .returning();
        if (user === undefined) throw new Error("the locked user row is gone");
        const identitiesRemoved = removed.length - (passwordRemoved ? 1 : 0);
        return { user, evicted: { passwordRemoved, identitiesRemoved, revokedSessionIds: revoked.map((row) => row.id) } };
      });
      if (proof === null || proof.evicted === null) return proof;
      // Every instance forgets the user and all of its cached sessions.
      await bus.publish({ kind: "user", userId });
      return proof;
    },
  };
}

export type AccountClaim = ReturnType<typeof createAccountClaim>;
