import { eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthenticatedSession } from "../sessions/session-service.ts";
import type { EmailVerification } from "./email-verification.ts";
import { asTakenError, isEmailTaken, isUsernameTaken, type UserRow } from "./users.ts";

export type ProfileChange = { username?: string | null | undefined; email?: string | undefined; currentPassword?: string | undefined };

export type ProfileDeps = {
  db: Database;
  stepUp: StepUp;
  emailVerification: EmailVerification;
  mail: MailOutbox;
  bus: RevocationBus;
  audit: Pick<AuditLog, "record">;
};

/**
 * Changes to the signed-in user's own account. Each one is published, so no instance serves a stale user.
 * A new email address gets a verification mail, and the old one a notice (the owner learns of a takeover).
 */
export function createProfileService({ db, stepUp, emailVerification, mail, bus, audit }: ProfileDeps) {
  async function apply(user: UserRow, patch: Partial<typeof users.$inferInsert>): Promise<UserRow> {
    try {
      // The notice to the old address commits with the email change, or neither does.
      const updated = await mail.transaction(async (tx) => {
        const [row] = await tx.update(users).set(patch).where(eq(users.id, user.id)).returning();
        if (row === undefined) throw new AppError("UNAUTHENTICATED");
        if (patch.email !== undefined) await mail.enqueue(mails.emailChanged(user.email, row.email), tx);
        return row;
      });
      await bus.publish({ kind: "user", userId: user.id });
      // The verification link's token is Better-Auth's own row, written outside this transaction: its mail follows.
      if (patch.email !== undefined) await emailVerification.send(updated);
      return updated;
    } catch (error) {
      throw asTakenError(error);
    }
  }

  return {
    /**
     * Username and email changes. A new email is confirmed like every sensitive action (the current password, or
     * for an account without one a recent authentication: src/flows/step-up.ts) and must be verified again.
     */
    async update(auth: AuthenticatedSession, change: ProfileChange, attempt: Attempt): Promise<UserRow> {
      const { user } = auth;
      const patch: Partial<typeof users.$inferInsert> = {};
      if (change.username !== undefined && change.username !== user.username) {
        if (change.username !== null && (await isUsernameTaken(db, change.username, user.id))) throw new AppError("USERNAME_TAKEN");
        patch.username = change.username;
      }
      if (change.email !== undefined && change.email !== user.email) {
        await stepUp.confirm(auth, { field: "currentPassword", password: change.currentPassword }, attempt);
        if (await isEmailTaken(db, change.email)) throw new AppError("EMAIL_TAKEN");
        patch.email = change.email;
        patch.emailVerified = false;
      }
      const updated = Object.keys(patch).length === 0 ? user : await apply(user, patch);
      const changed = { emailChanged: updated.email !== user.email, usernameChanged: updated.username !== user.username };
      await audit.record("user.updated", { userId: user.id, payload: changed }, attempt.audit);
      return updated;
    },

  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
