import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { accounts } from "../db/tables/accounts.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { Auth } from "./better-auth.ts";
import type { PasswordChecker } from "./password.ts";
import { findUserById, isEmailTaken, isUsernameTaken, type UserRow } from "./users.ts";

export type CredentialDeps = { auth: Auth; db: Database; checkPassword: PasswordChecker; requireEmailVerification: boolean };

/** Registration and password checks: Better-Auth creates the user and its credential account in one transaction. */
export function createCredentialService({ auth, db, checkPassword, requireEmailVerification }: CredentialDeps) {
  // Every login runs it: prepared once, so neither drizzle nor the server builds or plans it again.
  const userWithPasswordHash = db
    .select({ user: users, passwordHash: accounts.password })
    .from(users)
    .leftJoin(accounts, and(eq(accounts.userId, users.id), eq(accounts.providerId, "credential")))
    .where(eq(users.email, sql.placeholder("email")))
    .prepare("user_with_password_hash");

  async function conflictOf(email: string, username: string | undefined): Promise<AppError | null> {
    if (username !== undefined && (await isUsernameTaken(db, username))) return new AppError("USERNAME_TAKEN");
    if (await isEmailTaken(db, email)) return new AppError("EMAIL_TAKEN");
    return null;
  }

  /** Re-authentication of a signed-in user (email change, password change, account deletion). */
  async function verifyUserPassword(userId: string, password: string): Promise<boolean> {
    const [found] = await db
      .select({ passwordHash: accounts.password })
      .from(accounts)
      .where(and(eq(accounts.userId, userId), eq(accounts.providerId, "credential")));
    return checkPassword(found?.passwordHash, password);
  }

  return {
    async register(input: { email: string; password: string; username?: string | undefined }): Promise<UserRow> {
      // Checked first so the common conflict costs no argon2 hash; the unique indexes settle races below.
      const conflict = await conflictOf(input.email, input.username);
      if (conflict) throw conflict;
      let createdId: string;
      try {
        const result = await auth.api.signUpEmail({
          body: { email: input.email, password: input.password, name: "", username: input.username },
        });
        createdId = result.user.id;
      } catch (error) {
        // A concurrent registration won the unique index; Better-Auth reports it as a generic failure.
        throw (await conflictOf(input.email, input.username)) ?? error;
      }
      const created = await findUserById(db, createdId);
      // With autoSignIn off, Better-Auth answers a duplicate that slipped past our check (a race) with a synthetic
      // user that was never stored; the email is taken.
      if (created === undefined) throw new AppError("EMAIL_TAKEN");
      return created;
    },

    /**
     * The user whose password this is, or INVALID_CREDENTIALS. An unknown email costs the same argon2 verify as a
     * wrong password, so neither the answer nor its timing tells which emails exist.
     */
    async verifyPassword(email: string, password: string): Promise<UserRow> {
      const [found] = await userWithPasswordHash.execute({ email });
      const valid = await checkPassword(found?.passwordHash, password);
      if (found === undefined || !valid) throw new AppError("INVALID_CREDENTIALS");
      return found.user;
    },

    /**
     * Whether a user whose password checked out may have a session. Asked only after the password matched, so
     * the answer reveals nothing to someone who does not know it.
     */
    assertMaySignIn(user: UserRow): void {
      if (user.deletionScheduledAt !== null) throw new AppError("ACCOUNT_PENDING_DELETION");
      if (requireEmailVerification && !user.emailVerified) throw new AppError("EMAIL_NOT_VERIFIED");
    },

    /** Sets a new password after checking the current one; INVALID_CREDENTIALS if it does not match. */
    async changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void> {
      if (!(await verifyUserPassword(userId, currentPassword))) throw new AppError("INVALID_CREDENTIALS");
      const context = await auth.$context;
      await context.internalAdapter.updatePassword(userId, await context.password.hash(newPassword));
    },

    verifyUserPassword,
  };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
