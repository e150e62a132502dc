import { eq } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Actor } from "./actor.ts";
import { changeGuardingLastAdmin } from "./last-admin-guard.ts";
import { findUser } from "./user-directory.ts";

export type BanOrder = { reason: string; expiresAt?: Date | undefined };

/**
 * Bans and unbans. A ban is written, and every session of the user deleted (their refresh tokens with them), and
 * the impersonation sessions a banned administrator opened (src/admin/last-admin-guard.ts), in one transaction; then one `user` event tells every instance to drop the user's cached sessions, so their access
 * tokens stop working at once. Sign-in, refresh and session validation refuse the user while the ban holds
 * (src/admin/bans.ts); a temporary one lifts itself at expiresAt.
 */
export function createUserBans(deps: { db: Database; bus: RevocationBus; audit: Pick<AuditLog, "recordOrFail">; now: () => Date }) {
  const { db, bus, audit } = deps;

  return {
    /** VALIDATION_FAILED for an expiry not in the future; LAST_ADMIN for the last active administrator. */
    async ban(userId: string, order: BanOrder, actor: Actor): Promise<UserRow> {
      const now = deps.now();
      if (order.expiresAt !== undefined && order.expiresAt.getTime() <= now.getTime()) {
        throw new AppError("VALIDATION_FAILED", { errors: [{ path: "expiresAt", message: "Must be in the future" }] });
      }
      const { banned, ended } = await changeGuardingLastAdmin(deps, userId, now, {
        staysAdmin: () => false,
        apply: async (tx, target) => {
          const [row] = await tx
            .update(users)
            .set({ bannedAt: now, banReason: order.reason, banExpiresAt: order.expiresAt ?? null })
            .where(eq(users.id, target.id))
            .returning();
          const removed = await tx.delete(sessions).where(eq(sessions.userId, target.id)).returning({ id: sessions.id });
          return { banned: row ?? target, ended: removed.length };
        },
      });
      await bus.publish({ kind: "user", userId });
      const payload = { reason: order.reason, expiresAt: order.expiresAt?.toISOString() ?? null, sessionsEnded: ended };
      await audit.recordOrFail("admin.user_banned", { userId, actorId: actor.adminId, payload }, actor.audit);
      return banned;
    },

    /** Lifts the ban (a no-op for a user who is not banned, audited all the same). */
    async unban(userId: string, actor: Actor): Promise<UserRow> {
      await findUser(db, userId);
      const [unbanned] = await db.update(users).set({ bannedAt: null, banReason: null, banExpiresAt: null }).where(eq(users.id, userId)).returning();
      if (unbanned === undefined) throw new AppError("NOT_FOUND", { message: "No user has this id" });
      await bus.publish({ kind: "user", userId });
      await audit.recordOrFail("admin.user_unbanned", { userId, actorId: actor.adminId }, actor.audit);
      return unbanned;
    },
  };
}

export type UserBans = ReturnType<typeof createUserBans>;
