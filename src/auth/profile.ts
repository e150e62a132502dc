import { eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { uniqueViolationConstraint } from "../db/errors.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { MailQueue } from "../delivery/mail-queue.ts";
import { mails } from "../delivery/templates.ts";
import type { CredentialService } from "./credentials.ts";
import type { EmailVerification } from "./email-verification.ts";
import { isEmailTaken, isUsernameTaken, type UserRow } from "./users.ts";

export type ProfileChange = { username?: string | null | undefined; email?: string | undefined; currentPassword?: string | undefined };

const CONSTRAINT_ERRORS: Record<string, AppError["code"]> = {
  users_email_unique: "EMAIL_TAKEN",
  users_username_lower_unique: "USERNAME_TAKEN",
};

export type ProfileDeps = {
  db: Database;
  credentials: CredentialService;
  emailVerification: EmailVerification;
  mail: MailQueue;
  bus: RevocationBus;
};

/**
 * Changes to the signed-in user's own account. Each one is published, so no instance serves a stale user.
 * A new email address gets a verification mail, and the old one a notice (the owner learns of a takeover).
 */
export function createProfileService({ db, credentials, emailVerification, mail, bus }: ProfileDeps) {
  return {
    /** Username and email changes; a new email needs the current password and must be verified again. */
    async update(user: UserRow, change: ProfileChange): Promise<UserRow> {
      const patch: Partial<typeof users.$inferInsert> = {};
      if (change.username !== undefined && change.username !== user.username) {
        if (change.username !== null && (await isUsernameTaken(db, change.username, user.id))) throw new AppError("USERNAME_TAKEN");
        patch.username = change.username;
      }
      if (change.email !== undefined && change.email !== user.email) {
        if (change.currentPassword === undefined) {
          throw new AppError("VALIDATION_FAILED", {
            errors: [{ path: "currentPassword", message: "Required to change the email address" }],
          });
        }
        if (!(await credentials.verifyUserPassword(user.id, change.currentPassword))) throw new AppError("INVALID_CREDENTIALS");
        if (await isEmailTaken(db, change.email)) throw new AppError("EMAIL_TAKEN");
        patch.email = change.email;
        patch.emailVerified = false;
      }
      if (Object.keys(patch).length === 0) return user;
      try {
        const [updated] = await db.update(users).set(patch).where(eq(users.id, user.id)).returning();
        if (updated === undefined) throw new AppError("UNAUTHENTICATED");
        await bus.publish({ kind: "user", userId: user.id });
        if (patch.email !== undefined) {
          await emailVerification.send(updated);
          mail.enqueue(mails.emailChanged(user.email, updated.email));
        }
        return updated;
      } catch (error) {
        // The checks above race with other writers; the unique indexes have the last word.
        const code = CONSTRAINT_ERRORS[uniqueViolationConstraint(error) ?? ""];
        throw code === undefined ? error : new AppError(code);
      }
    },

  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
