import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { IssuedSession, SessionService } from "../sessions/session-service.ts";
import type { Actor } from "./actor.ts";
import { isAdmin } from "./roles.ts";
import { findUser } from "./user-directory.ts";

export type ImpersonationDeps = {
  db: Database;
  sessions: Pick<SessionService, "create" | "revoke">;
  audit: Pick<AuditLog, "recordOrFail">;
  /** Refuses a user who may not have a session at all (banned, pending deletion). */
  assertMaySignIn(user: UserRow): void;
  /** IMPERSONATION_TTL. */
  ttlSeconds: number;
};

/**
 * An administrator signs in as a user to see what they see (support, debugging). The session is the user's, marked
 * with the administrator (sessions.impersonator_id): its tokens carry `act: {sub: adminId}` (RFC 8693), it lives
 * IMPERSONATION_TTL at most and refreshing does not extend it, it can take no sensitive action (src/flows/step-up.ts),
 * it evicts none of the user's own sessions, and the user sees it in GET /auth/sessions. It is audited on both
 * accounts. An administrator cannot be impersonated: that would hand one administrator another's powers.
 */
export function createImpersonation(deps: ImpersonationDeps) {
  return {
    async start(userId: string, reason: string, actor: Actor & { adminId: string }, client: { ipAddress: string | null; userAgent: string | null }) {
      const user = await findUser(deps.db, userId);
      if (isAdmin(user)) throw new AppError("CANNOT_IMPERSONATE_ADMIN");
      deps.assertMaySignIn(user);
      // No factor of the user's was proven: the session's amr is empty and its aal 1.
      const issued: IssuedSession = await deps.sessions.create(user.id, client, [], { impersonatorId: actor.adminId, ttlSeconds: deps.ttlSeconds });
      const sessionId = issued.session.id;
      try {
        await deps.audit.recordOrFail("admin.impersonation_started", { userId: user.id, actorId: actor.adminId, sessionId, payload: { reason } }, actor.audit);
        await deps.audit.recordOrFail(
          "admin.impersonation_started",
          { userId: actor.adminId, sessionId, payload: { reason, impersonatedUserId: user.id } },
          actor.audit,
        );
      } catch (error) {
        // No impersonation without its trail: the session ends before anyone holds its tokens.
        await deps.sessions.revoke(user.id, sessionId);
        throw error;
      }
      return { user, issued };
    },
  };
}

export type Impersonation = ReturnType<typeof createImpersonation>;
