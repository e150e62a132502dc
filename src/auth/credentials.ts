import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { isDatabaseUnavailable, uniqueViolationConstraint } from "../db/errors.ts";
import { accounts } from "../db/tables/accounts.ts";
import { users } from "../db/tables/users.ts";
import { assertNotBanned } from "../admin/bans.ts";
import { AppError } from "../errors.ts";
import type { Auth } from "./better-auth.ts";
import type { PasswordChecker } from "./password.ts";
import { findUserById, isEmailTaken, isUsernameTaken, type UserRow } from "./users.ts";

export type NewUserInput = { email: string; password: string; username?: string | undefined };

export type Registration = { status: "created"; user: UserRow } | { status: "email-taken"; owner: UserRow };

/** `unverified`: the password matched an account that may not sign in with it until its address is verified. */
export type CredentialCheck = { valid: true; user: UserRow } | { valid: false; userId: string | null; unverified?: true };

export type CredentialDeps = {
  auth: Auth;
  db: Database;
  checkPassword: PasswordChecker;
  requireEmailVerification: boolean;
  /** The clock a temporary ban's expiry is read against. */
  now?: () => Date;
};

/** Registration and password checks: the user and its credential account are created in one transaction. */
export function createCredentialService({ auth, db, checkPassword, requireEmailVerification, now = () => new Date() }: CredentialDeps) {
  // Every login runs it: prepared once, so neither drizzle nor the server builds or plans it again.
  const userWithPasswordHash = db
    .select({ user: users, passwordHash: accounts.password })
    .from(users)
    .leftJoin(accounts, and(eq(accounts.userId, users.id), eq(accounts.providerId, "credential")))
    .where(eq(users.email, sql.placeholder("email")))
    .prepare("user_with_password_hash");
  // A login of an account whose address is unverified runs it after the session is made (password-strategy.ts).
  const passwordHashOfUser = db
    .select({ passwordHash: accounts.password })
    .from(accounts)
    .where(and(eq(accounts.userId, sql.placeholder("userId")), eq(accounts.providerId, "credential")))
    .prepare("password_hash_of_user");

  /** Username first: a taken username is public anyway, so answering it reveals nothing about the email. */
  async function conflictOf(email: string, username: string | undefined): Promise<AppError | null> {
    if (username !== undefined && (await isUsernameTaken(db, username))) return new AppError("USERNAME_TAKEN");
    if (await isEmailTaken(db, email)) return new AppError("EMAIL_TAKEN");
    return null;
  }

  /** Better-Auth creates the user; a taken username or email is USERNAME_TAKEN or EMAIL_TAKEN. */
  async function create(input: NewUserInput): Promise<UserRow> {
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
      // The database went away mid-way: the outcome is unknown (a COMMIT whose answer was lost leaves the user
      // stored), so it is a 503, never read as the race below, which would answer this request's own user as taken.
      if (isDatabaseUnavailable(error)) throw error;
      // A concurrent registration won the unique index; Better-Auth reports it as a generic failure.
      throw (await conflictOf(input.email, input.username)) ?? error;
    }
    const created = await findUserById(db, createdId);
    // With autoSignIn off, Better-Auth answers a duplicate that slipped past our check (a race) with a synthetic
    // user that was never stored; the email is taken.
    if (created === undefined) throw new AppError("EMAIL_TAKEN");
    return created;
  }

  /** The user's argon2 hash; undefined when the user has no password (passwordless, or claimed: account-claim.ts). */
  async function passwordHashOf(userId: string): Promise<string | null | undefined> {
    const [found] = await passwordHashOfUser.execute({ userId });
    return found?.passwordHash;
  }

  /**
   * Re-authentication of a signed-in user (email change, password change, account deletion): INVALID_CREDENTIALS
   * for a wrong password, PASSWORD_NOT_SET for an account that has none (made by a sign-in code, or claimed). Only
   * the account's owner, signed in, can ask, so telling them that their account has no password reveals nothing.
   */
  async function assertUserPassword(userId: string, password: string): Promise<void> {
    const passwordHash = await passwordHashOf(userId);
    if (!passwordHash) {
      throw new AppError("PASSWORD_NOT_SET", {
        message:
          "This account signs in with email codes and has no password: leave the password out and re-authenticate " +
          "with a mailed code (POST /auth/reauthenticate), or set a password first with POST /auth/forgot-password",
      });
    }
    if (!(await checkPassword(passwordHash, password))) throw new AppError("INVALID_CREDENTIALS");
  }

  return {
    /** Creates the user; a taken username or email is USERNAME_TAKEN or EMAIL_TAKEN. */
    register: create,

    /** The password's argon2id hash, by the hasher Better-Auth stores (a registration hashes on the request's time). */
    async hashPassword(password: string): Promise<string> {
      return (await auth.$context).password.hash(password);
    },

    /**
     * REQUIRE_EMAIL_VERIFICATION's registration, made after the answer from a hash made on the request's time (so
     * no plaintext password waits anywhere): the user and its credential account in one transaction, as Better-Auth's
     * sign-up makes them, whose API takes only a plaintext password. A taken email comes back as `email-taken` with
     * its owner, for the caller to tell the owner. An account holding this very hash was made by an earlier run of
     * the same registration (argon2's salt makes the hash unique to it; a retried compose): `created`, again.
     */
    async registerWithPasswordHash(email: string, passwordHash: string): Promise<Registration> {
      const created = await db.transaction(async (tx) => {
        const [user] = await tx.insert(users).values({ email }).onConflictDoNothing({ target: users.email }).returning();
        if (user !== undefined) await tx.insert(accounts).values({ userId: user.id, providerId: "credential", accountId: user.id, password: passwordHash });
        return user;
      });
      if (created !== undefined) return { status: "created", user: created };
      const [found] = await userWithPasswordHash.execute({ email });
      // Deleted since the insert found it: the next attempt registers the address.
      if (found === undefined) throw new Error("the account that holds the address is gone; retry");
      return found.passwordHash === passwordHash ? { status: "created", user: found.user } : { status: "email-taken", owner: found.user };
    },

    /**
     * Whether the password is the account's. An unknown email costs the same argon2 verify as a wrong password, so
     * the caller's answer need not tell which emails exist; a failure names the account when there is one, for the
     * owner's audit trail.
     */
    async checkCredentials(email: string, password: string): Promise<CredentialCheck> {
      const [found] = await userWithPasswordHash.execute({ email });
      const valid = await checkPassword(found?.passwordHash, password);
      if (found === undefined || !valid) return { valid: false, userId: found?.user.id ?? null };
      // With REQUIRE_EMAIL_VERIFICATION anyone can register any free address with a password of their own, so a
      // distinct answer for "right password, unverified" would tell them the address was free (and an attempt on a
      // taken one leaves no usable password). Until the mailbox is proven, the password is no credential at all.
      if (requireEmailVerification && !found.user.emailVerified) return { valid: false, userId: found.user.id, unverified: true };
      return { valid: true, user: found.user };
    },

    /**
     * Whether a user who proved a factor may have a session. Asked only after the proof, so the answer reveals
     * nothing to someone who does not have it.
     */
    assertMaySignIn(user: UserRow): void {
      assertNotBanned(user, now());
      if (user.deletionScheduledAt !== null) throw new AppError("ACCOUNT_PENDING_DELETION");
      if (requireEmailVerification && !user.emailVerified) throw new AppError("EMAIL_NOT_VERIFIED");
    },

    /**
     * Sets the user's password (the caller confirmed the change: src/flows/step-up.ts). A user without one (made
     * by a sign-in code, or claimed) gets a credential account, as Better-Auth's registration would have made.
     */
    async setPassword(userId: string, newPassword: string): Promise<void> {
      const context = await auth.$context;
      const hash = await context.password.hash(newPassword);
      if ((await passwordHashOf(userId)) === undefined) {
        try {
          await context.internalAdapter.linkAccount({ userId, providerId: "credential", accountId: userId, password: hash });
          return;
        } catch (error) {
          // A concurrent change made the account first (accounts_provider_account_unique): update it instead.
          if (uniqueViolationConstraint(error) === null) throw error;
        }
      }
      await context.internalAdapter.updatePassword(userId, hash);
    },

    assertUserPassword,

    /** Whether the user still has a password (a claim of the address deletes it; src/auth/account-claim.ts). */
    async hasPassword(userId: string): Promise<boolean> {
      return Boolean(await passwordHashOf(userId));
    },
  };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
