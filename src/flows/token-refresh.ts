import { assertNotBanned } from "../admin/bans.ts";
import { isActiveAdmin } from "../admin/user-status.ts";
import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { RotationResult } from "../sessions/refresh-rotation.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { Attempt } from "./sign-in-flow.ts";

/** A rotated pair with its user: the new access token carries the user's current roles. */
export type Refreshed = Extract<RotationResult, { status: "rotated" }> & { user: UserRow };

export type TokenRefreshDeps = {
  rotateRefreshToken: (presented: string, now: Date) => Promise<RotationResult>;
  audit: Pick<AuditLog, "record">;
  findUser: (userId: string) => Promise<UserRow | undefined>;
  sessions: Pick<SessionService, "revoke">;
  now?: () => Date;
};

/**
 * POST /auth/refresh: a refresh token exchanged for its successor (src/sessions/refresh-rotation.ts), within the
 * session's refresh budget. A replayed retired token is REFRESH_TOKEN_REUSED (its whole session is revoked, and
 * audited as theft); an unknown, expired or ended one INVALID_REFRESH_TOKEN. A banned user's session (one that
 * raced the ban's revocation) ends here with ACCOUNT_BANNED, and an impersonation session whose administrator is
 * no longer an active one with INVALID_REFRESH_TOKEN.
 */
export function createTokenRefresh({ rotateRefreshToken, audit, findUser, sessions, now = () => new Date() }: TokenRefreshDeps) {
  /** An impersonation session lives only while its administrator is an active one (a race past their demotion, ban or deletion). */
  async function assertImpersonatorActive(impersonatorId: string | null): Promise<void> {
    if (impersonatorId === null) return;
    const impersonator = await findUser(impersonatorId);
    if (impersonator === undefined || !isActiveAdmin(impersonator, now())) throw new AppError("INVALID_REFRESH_TOKEN");
  }

  return async function refresh(presented: string | undefined, attempt: Attempt): Promise<Refreshed> {
    const result = presented === undefined ? ({ status: "invalid" } as const) : await rotateRefreshToken(presented, now());
    if (result.status === "reused") {
      await audit.record("token.refresh_reused", { userId: result.userId, actorId: result.impersonatorId, sessionId: result.sessionId }, attempt.audit);
      throw new AppError("REFRESH_TOKEN_REUSED");
    }
    if (result.status === "invalid") throw new AppError("INVALID_REFRESH_TOKEN");
    // Counted after the exchange, once the session is known; a refused client may retry with the same token
    // inside the grace window and gets the same pair.
    await attempt.limits.consume("refreshSession", result.session.id);
    const { session, retried } = result;
    const user = await findUser(session.userId);
    if (user === undefined) throw new AppError("INVALID_REFRESH_TOKEN");
    try {
      assertNotBanned(user, now());
      await assertImpersonatorActive(session.impersonatorId);
    } catch (error) {
      await sessions.revoke(user.id, session.id);
      throw error;
    }
    // In an impersonation session the administrator is the one refreshing: their address and user agent stay out
    // of the user's own trail unless AUDIT_SHOW_ADMIN (the actor hides them).
    await audit.record("token.refreshed", { userId: session.userId, actorId: session.impersonatorId, sessionId: session.id, payload: { retried } }, attempt.audit);
    return { ...result, user };
  };
}

export type TokenRefresh = ReturnType<typeof createTokenRefresh>;
