import { AppError } from "../errors.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import { isApiKeyAuthentication } from "./assurance.ts";
import type { AuthenticatedSession, SessionListing, SessionService } from "./session-service.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type OwnSessionsDeps = {
  sessions: Pick<SessionService, "list" | "revoke" | "revokeAll">;
  audit: Pick<AuditLog, "record">;
  stepUp: Pick<StepUp, "assertRecent">;
  /** AUDIT_SHOW_ADMIN: whether the user sees where an administrator's impersonation session came from. */
  showAdmin: boolean;
};

/** A session as its user sees it: `current` marks the one the request came in on. */
export type OwnSession = SessionListing & { current: boolean };

/**
 * The signed-in user's own sessions: list, end one, end the others, sign out. REST (/auth/sessions, /auth/logout)
 * and GraphQL call these, so both audit and refuse alike.
 */
export function createOwnSessions({ sessions, audit, stepUp, showAdmin }: OwnSessionsDeps) {
  /**
   * An impersonation session's address and user agent are the administrator's: shown only with AUDIT_SHOW_ADMIN,
   * like the administrator's side of the audit trail.
   */
  const asOwnerSees = (session: SessionListing): SessionListing =>
    session.impersonatorId === null || showAdmin ? session : { ...session, ipAddress: null, userAgent: null };

  return {
    async list({ user, session: current }: AuthenticatedSession): Promise<OwnSession[]> {
      const listed = await sessions.list(user.id);
      return listed.map((session) => ({ ...asOwnerSees(session), current: session.id === current.id }));
    },

    /**
     * NOT_FOUND for a session that is not the caller's (a malformed id too: no hints about the shape). An
     * impersonation session may end itself only, and an API key none: ending the user's own sessions is revokeOthers'
     * sensitive action, which they may not take one by one either (an administrator has DELETE
     * /auth/admin/users/{id}/sessions).
     */
    async revoke({ user, session }: AuthenticatedSession, sessionId: string, context: AuditContext): Promise<void> {
      // A personal API key has no session of its own to end: any session it names is another one.
      if (isApiKeyAuthentication(session)) throw new AppError("FORBIDDEN_FOR_API_KEY");
      if (session.impersonatorId !== null && sessionId !== session.id) {
        throw new AppError("FORBIDDEN", { message: "An impersonation session cannot end the user's other sessions" });
      }
      if (!UUID.test(sessionId) || !(await sessions.revoke(user.id, sessionId))) throw new AppError("NOT_FOUND");
      await audit.record("session.revoked", { userId: user.id, sessionId }, context);
    },

    /** Every session but this one (a sensitive action: STEP_UP_REQUIRED without a recent authentication); the ended ids. */
    async revokeOthers({ user, session }: AuthenticatedSession, context: AuditContext): Promise<string[]> {
      stepUp.assertRecent(session);
      const ended = await sessions.revokeAll(user.id, session.id);
      for (const sessionId of ended) await audit.record("session.revoked", { userId: user.id, sessionId }, context);
      return ended;
    },

    /** Ends the session the request came in on; a personal API key is no session to end (it is deleted instead). */
    async logout({ user, session }: AuthenticatedSession, context: AuditContext): Promise<void> {
      if (isApiKeyAuthentication(session)) throw new AppError("FORBIDDEN_FOR_API_KEY");
      await sessions.revoke(user.id, session.id);
      await audit.record("logout", { userId: user.id, sessionId: session.id }, context);
    },
  };
}

export type OwnSessions = ReturnType<typeof createOwnSessions>;
