import { and, eq, isNotNull, lte } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import type { MailQueue } from "../delivery/mail-queue.ts";
import { mails, tokenLink } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { CredentialService } from "./credentials.ts";
import type { UserRow } from "./users.ts";
import type { VerificationTokens } from "./verification-tokens.ts";

export type AccountDeletionDeps = {
  db: Database;
  credentials: CredentialService;
  sessions: SessionService;
  tokens: VerificationTokens;
  mail: MailQueue;
  bus: RevocationBus;
  appUrl: string;
  graceSeconds: number;
};

/**
 * Account deletion, at once or after ACCOUNT_DELETION_GRACE. A scheduled deletion ends every session at once and
 * refuses logins (ACCOUNT_PENDING_DELETION) until it is cancelled with the mailed token or carried out by the
 * sweep. The schedule lives in the users table, so restarts and other instances carry it out too.
 */
export function createAccountDeletion(deps: AccountDeletionDeps) {
  const { db, bus } = deps;

  async function deleteNow(userId: string) {
    await db.delete(users).where(eq(users.id, userId));
    await bus.publish({ kind: "user", userId });
  }

  return {
    /** Null when deleted at once; the moment of deletion when scheduled. */
    async request(user: UserRow, password: string): Promise<Date | null> {
      if (!(await deps.credentials.verifyUserPassword(user.id, password))) throw new AppError("INVALID_CREDENTIALS");
      if (deps.graceSeconds === 0) {
        await deleteNow(user.id);
        return null;
      }
      const deletesAt = new Date(Date.now() + deps.graceSeconds * 1000);
      await db.update(users).set({ deletionScheduledAt: deletesAt }).where(eq(users.id, user.id));
      await deps.sessions.revokeAll(user.id);
      const token = await deps.tokens.issue("cancel-deletion", user.id, deps.graceSeconds);
      deps.mail.enqueue(mails.deletionScheduled(user.email, tokenLink(deps.appUrl, "/cancel-deletion", token), deletesAt));
      return deletesAt;
    },

    /** The restored user; INVALID_TOKEN for an unknown, used or expired token, or a deletion already done. */
    async cancel(token: string): Promise<UserRow> {
      const userId = await deps.tokens.consume("cancel-deletion", token);
      if (userId === null) throw new AppError("INVALID_TOKEN");
      const [restored] = await db
        .update(users)
        .set({ deletionScheduledAt: null })
        .where(and(eq(users.id, userId), isNotNull(users.deletionScheduledAt)))
        .returning();
      if (restored === undefined) throw new AppError("INVALID_TOKEN");
      await bus.publish({ kind: "user", userId });
      return restored;
    },

    /** Deletes every user whose grace has passed; returns their ids. Safe to run on several instances at once. */
    async sweep(now: Date = new Date()): Promise<string[]> {
      const deleted = await db
        .delete(users)
        .where(and(isNotNull(users.deletionScheduledAt), lte(users.deletionScheduledAt, now)))
        .returning({ id: users.id });
      for (const { id } of deleted) await bus.publish({ kind: "user", userId: id });
      return deleted.map((row) => row.id);
    },
  };
}

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;
