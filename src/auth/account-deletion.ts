import { and, eq, isNotNull, lte } from "drizzle-orm";
import { endImpersonationsBy, publishEnded } from "../admin/impersonations-by.ts";
import { changeGuardingLastAdmin } from "../admin/last-admin-guard.ts";
import type { Database, Transaction } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails, tokenLink } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthenticatedSession, SessionService } from "../sessions/session-service.ts";
import type { UserRow } from "./users.ts";
import type { VerificationTokens } from "./verification-tokens.ts";

export type AccountDeletionDeps = {
  db: Database;
  stepUp: StepUp;
  sessions: SessionService;
  tokens: VerificationTokens;
  mail: MailOutbox;
  bus: RevocationBus;
  audit: Pick<AuditLog, "record">;
  /** The link template, "{token}" where the token goes. */
  link: string;
  graceSeconds: number;
};

/**
 * Account deletion, at once or after ACCOUNT_DELETION_GRACE. A scheduled deletion ends every session at once and
 * refuses logins (ACCOUNT_PENDING_DELETION) until it is cancelled with the mailed token or carried out by the
 * sweep. The schedule lives in the users table, so restarts and other instances carry it out too.
 */
export function createAccountDeletion(deps: AccountDeletionDeps) {
  const { db, bus } = deps;

  /**
   * The account's deletion, now or scheduled, unless it is the last active administrator's (LAST_ADMIN): an
   * installation must not lose its last administrator to one click. An administrator's impersonation sessions
   * end with it (the guard).
   */
  const withoutLosingLastAdmin = (userId: string, write: (tx: Transaction) => Promise<unknown>) =>
    changeGuardingLastAdmin(deps, userId, new Date(), { staysAdmin: () => false, apply: (tx) => write(tx) });

  return {
    /**
     * Null when deleted at once; the moment of deletion when scheduled. Confirmed with the password, or without one
     * (an account made by a sign-in code) by a recent authentication (src/flows/step-up.ts).
     */
    async request(auth: AuthenticatedSession, password: string | undefined, attempt: Attempt): Promise<Date | null> {
      const { user } = auth;
      await deps.stepUp.confirm(auth, { field: "password", password }, attempt);
      if (deps.graceSeconds === 0) {
        await withoutLosingLastAdmin(user.id, (tx) => tx.delete(users).where(eq(users.id, user.id)));
        await bus.publish({ kind: "user", userId: user.id });
        await deps.audit.record("user.deleted", { userId: user.id }, attempt.audit);
        return null;
      }
      const deletesAt = new Date(Date.now() + deps.graceSeconds * 1000);
      await withoutLosingLastAdmin(user.id, (tx) => tx.update(users).set({ deletionScheduledAt: deletesAt }).where(eq(users.id, user.id)));
      await deps.sessions.revokeAll(user.id);
      const token = await deps.tokens.issue("cancel-deletion", user.id, deps.graceSeconds);
      await deps.mail.enqueue(mails.deletionScheduled(user.email, tokenLink(deps.link, token), deletesAt));
      await deps.audit.record("account.deletion_scheduled", { userId: user.id, payload: { deletesAt } }, attempt.audit);
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

    /**
     * Deletes every user whose grace has passed; returns their ids. Safe to run on several instances at once. The
     * impersonation sessions the deleted users opened are named first (the cascade would take them unseen) and
     * every instance is told of each.
     */
    async sweep(now: Date = new Date()): Promise<string[]> {
      const due = and(isNotNull(users.deletionScheduledAt), lte(users.deletionScheduledAt, now));
      const { deleted, impersonations } = await db.transaction(async (tx) => {
        const doomed = await tx.select({ id: users.id }).from(users).where(due).for("update");
        const impersonations = await endImpersonationsBy(
          tx,
          doomed.map((row) => row.id),
        );
        const deleted = await tx.delete(users).where(due).returning({ id: users.id });
        return { deleted, impersonations };
      });
      await publishEnded(bus, impersonations);
      for (const { id } of deleted) await bus.publish({ kind: "user", userId: id });
      return deleted.map((row) => row.id);
    },
  };
}

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;
