import { randomBytes } from "node:crypto";
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { uniqueViolationConstraint } from "../db/errors.ts";
import { accounts } from "../db/tables/accounts.ts";
import { type PasskeyDeviceType, passkeys, webauthnUserHandles } from "../db/tables/passkeys.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";

export type PasskeyRow = typeof passkeys.$inferSelect;
export type NewPasskey = Pick<PasskeyRow, "userId" | "credentialId" | "publicKey" | "counter" | "transports" | "backedUp" | "deviceType" | "name">;

/** What an assertion changed on the credential: its counter, whether it is backed up now, when it was used. */
export type AssertionUpdate = { counter: number; backedUp: boolean; deviceType: PasskeyDeviceType; at: Date };

/** The passkeys in the database, and each user's WebAuthn user handle. */
export function createPasskeyStore(db: Database) {
  const ofUser = (userId: string, id: string) => and(eq(passkeys.id, id), eq(passkeys.userId, userId));

  return {
    async list(userId: string): Promise<PasskeyRow[]> {
      return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));
    },

    async countOf(userId: string): Promise<number> {
      const [row] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId));
      return row?.n ?? 0;
    },

    async hasAny(userId: string): Promise<boolean> {
      const [row] = await db.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId)).limit(1);
      return row !== undefined;
    },

    async findByCredentialId(credentialId: string): Promise<PasskeyRow | null> {
      const [row] = await db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId));
      return row ?? null;
    },

    /** The user's handle, made (32 random bytes) the first time it is asked for; concurrent first calls agree on one. */
    async userHandleOf(userId: string): Promise<string> {
      await db.insert(webauthnUserHandles).values({ userId, handle: randomBytes(32).toString("base64url") }).onConflictDoNothing({ target: webauthnUserHandles.userId });
      const [row] = await db.select({ handle: webauthnUserHandles.handle }).from(webauthnUserHandles).where(eq(webauthnUserHandles.userId, userId));
      if (row === undefined) throw new Error("the user handle vanished (the user was deleted meanwhile)");
      return row.handle;
    },

    async findUserHandle(userId: string): Promise<string | null> {
      const [row] = await db.select({ handle: webauthnUserHandles.handle }).from(webauthnUserHandles).where(eq(webauthnUserHandles.userId, userId));
      return row?.handle ?? null;
    },

    /** Stores a verified credential; WEBAUTHN_VERIFICATION_FAILED if its id is registered already (to anyone). */
    async add(passkey: NewPasskey): Promise<PasskeyRow> {
      try {
        const [row] = await db.insert(passkeys).values(passkey).returning();
        if (row === undefined) throw new Error("insert returned no row");
        return row;
      } catch (error) {
        if (uniqueViolationConstraint(error) === "passkeys_credential_id_unique") {
          throw new AppError("WEBAUTHN_VERIFICATION_FAILED", { message: "This passkey is registered already", cause: error });
        }
        throw error;
      }
    },

    /**
     * Records an assertion. With `strict`, only a counter above the stored one is accepted (or 0 on a credential
     * that has only ever reported 0: synced passkeys do not count), in one conditional UPDATE, so of two
     * assertions carrying the same counter at most one passes. False: refused.
     */
    async recordAssertion(id: string, update: AssertionUpdate, strict: boolean): Promise<boolean> {
      const counterMoves = update.counter === 0 ? eq(passkeys.counter, 0) : sql`${passkeys.counter} < ${update.counter}`;
      const recorded = await db
        .update(passkeys)
        .set({
          counter: sql`greatest(${passkeys.counter}, ${update.counter})`,
          backedUp: update.backedUp,
          deviceType: update.deviceType,
          lastUsedAt: update.at,
        })
        .where(strict ? and(eq(passkeys.id, id), counterMoves) : eq(passkeys.id, id))
        .returning({ id: passkeys.id });
      return recorded.length === 1;
    },

    /** Renames one of the user's passkeys; null if the user has no passkey with this id. */
    async rename(userId: string, id: string, name: string): Promise<PasskeyRow | null> {
      const [row] = await db.update(passkeys).set({ name }).where(ofUser(userId, id)).returning();
      return row ?? null;
    },

    /**
     * Removes one of the user's passkeys, unless nothing else would sign in to the account (no password, no linked
     * identity, no other passkey): LAST_SIGN_IN_METHOD. Under the user row's lock, as an identity's unlink is, so
     * two removals at once cannot each count the other's credential as the way in that remains.
     */
    async remove(userId: string, id: string): Promise<PasskeyRow | null> {
      return db.transaction(async (tx) => {
        const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
        const [target] = await tx.select().from(passkeys).where(ofUser(userId, id));
        if (user === undefined || target === undefined) return null;
        const [otherPasskey] = await tx.select({ id: passkeys.id }).from(passkeys).where(and(eq(passkeys.userId, userId), ne(passkeys.id, id))).limit(1);
        const [account] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.userId, userId)).limit(1);
        if (otherPasskey === undefined && account === undefined) throw new AppError("LAST_SIGN_IN_METHOD");
        await tx.delete(passkeys).where(eq(passkeys.id, id));
        return target;
      });
    },
  };
}

export type PasskeyStore = ReturnType<typeof createPasskeyStore>;

