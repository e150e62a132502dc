import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { ApiKeys } from "../machine/api-keys.ts";
import type { SessionListing, SessionService } from "../sessions/session-service.ts";
import type { Actor } from "./actor.ts";
import { findUser, isUuid } from "./user-directory.ts";

/** A user's sessions as an administrator sees and ends them; every revocation reaches every instance (the bus). */
export function createAdminSessions(deps: { db: Database; sessions: SessionService; apiKeys: Pick<ApiKeys, "revokeAllFor">; audit: Pick<AuditLog, "recordOrFail"> }) {
  const { db, sessions, apiKeys, audit } = deps;
  const record = (userId: string, sessionIds: string[], actor: Actor) =>
    audit.recordOrFail("admin.sessions_revoked", { userId, actorId: actor.adminId, payload: { sessionIds } }, actor.audit);

  return {
    async list(userId: string): Promise<SessionListing[]> {
      await findUser(db, userId);
      return sessions.list(userId);
    },

    /**
     * Ends every session of the user, and every API key (the recovery after a takeover: a key made meanwhile must
     * not outlive it); returns how many sessions.
     */
    async revokeAll(userId: string, actor: Actor): Promise<number> {
      await findUser(db, userId);
      const ended = await sessions.revokeAll(userId);
      await record(userId, ended, actor);
      await apiKeys.revokeAllFor(userId, { reason: "admin_sessions_revoked", actorId: actor.adminId }, actor.audit);
      return ended.length;
    },

    /** NOT_FOUND for an unknown user or a session that is not theirs. */
    async revoke(userId: string, sessionId: string, actor: Actor): Promise<void> {
      await findUser(db, userId);
      if (!isUuid(sessionId) || !(await sessions.revoke(userId, sessionId))) throw new AppError("NOT_FOUND", { message: "The user has no such session" });
      await record(userId, [sessionId], actor);
    },
  };
}

export type AdminSessions = ReturnType<typeof createAdminSessions>;
