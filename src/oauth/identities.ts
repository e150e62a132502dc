import { and, asc, count, eq, ne } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { accounts } from "../db/tables/accounts.ts";
import { passkeys } from "../db/tables/passkeys.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";

/** Better-Auth's provider id of the password row; every other provider id is a social identity. */
const PASSWORD_PROVIDER = "credential";

export type LinkedIdentity = { id: string; provider: string; email: string | null; linkedAt: Date };

/** The social identities in `accounts`, keyed on (provider_id, account_id = the provider's subject), never on email. */
export function createIdentityStore(db: Database) {
  return {
    /** The user this identity signs in to, if it is linked. */
    async findUser(provider: string, subject: string): Promise<{ identityId: string; email: string | null; user: UserRow } | null> {
      const [row] = await db
        .select({ identityId: accounts.id, email: accounts.email, user: users })
        .from(accounts)
        .innerJoin(users, eq(users.id, accounts.userId))
        .where(and(eq(accounts.providerId, provider), eq(accounts.accountId, subject)));
      return row ?? null;
    },

    async isLinked(provider: string, subject: string, userId: string): Promise<boolean> {
      const [row] = await db
        .select({ id: accounts.id })
        .from(accounts)
        .where(and(eq(accounts.providerId, provider), eq(accounts.accountId, subject), eq(accounts.userId, userId)));
      return row !== undefined;
    },

    /** Whether any social identity signs in to the user (a first factor besides a mailed code). */
    async hasAny(userId: string): Promise<boolean> {
      const [row] = await db
        .select({ id: accounts.id })
        .from(accounts)
        .where(and(eq(accounts.userId, userId), ne(accounts.providerId, PASSWORD_PROVIDER)))
        .limit(1);
      return row !== undefined;
    },

    /** The address the provider gave at the latest sign-in: shown to the user, never used to match. */
    async updateEmail(identityId: string, email: string | null): Promise<void> {
      await db.update(accounts).set({ email, updatedAt: new Date() }).where(eq(accounts.id, identityId));
    },

    /**
     * Links the identity to the user: "added", "already" (to this user), or "taken" (another user has it). The
     * unique (provider_id, account_id) index settles concurrent links.
     */
    async add(userId: string, provider: string, subject: string, email: string | null): Promise<"added" | "already" | "taken"> {
      const [inserted] = await db
        .insert(accounts)
        .values({ userId, providerId: provider, accountId: subject, email })
        .onConflictDoNothing({ target: [accounts.providerId, accounts.accountId] })
        .returning({ id: accounts.id });
      if (inserted !== undefined) return "added";
      return (await this.isLinked(provider, subject, userId)) ? "already" : "taken";
    },

    /** The user's identities, oldest first, whether it has a password, and how many passkeys. */
    async list(userId: string): Promise<{ identities: LinkedIdentity[]; password: boolean; passkeys: number }> {
      const rows = await db
        .select({ id: accounts.id, provider: accounts.providerId, email: accounts.email, linkedAt: accounts.createdAt })
        .from(accounts)
        .where(eq(accounts.userId, userId))
        .orderBy(asc(accounts.createdAt), asc(accounts.id));
      const [keys] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId));
      return {
        identities: rows.filter((row) => row.provider !== PASSWORD_PROVIDER),
        password: rows.some((row) => row.provider === PASSWORD_PROVIDER),
        passkeys: keys?.n ?? 0,
      };
    },

    /**
     * Removes one of the user's identities, unless nothing else would sign in to the account (no password, no other
     * identity, no passkey): LAST_SIGN_IN_METHOD. The user row is locked first, so two removals at once (a passkey's
     * too: src/passkeys/passkey-store.ts, or a removal during a claim) cannot both see the other's way in still there.
     */
    async unlink(userId: string, identityId: string): Promise<LinkedIdentity & { userEmail: string }> {
      return db.transaction(async (tx) => {
        const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId)).for("update");
        const [target] = await tx
          .select({ id: accounts.id, provider: accounts.providerId, email: accounts.email, linkedAt: accounts.createdAt })
          .from(accounts)
          .where(and(eq(accounts.id, identityId), eq(accounts.userId, userId), ne(accounts.providerId, PASSWORD_PROVIDER)));
        if (user === undefined || target === undefined) throw new AppError("NOT_FOUND", { message: "No such linked account" });
        const [other] = await tx
          .select({ id: accounts.id })
          .from(accounts)
          .where(and(eq(accounts.userId, userId), ne(accounts.id, identityId)))
          .limit(1);
        const [passkey] = await tx.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId)).limit(1);
        if (other === undefined && passkey === undefined) throw new AppError("LAST_SIGN_IN_METHOD");
        await tx.delete(accounts).where(eq(accounts.id, identityId));
        return { ...target, userEmail: user.email };
      });
    },
  };
}

export type IdentityStore = ReturnType<typeof createIdentityStore>;
