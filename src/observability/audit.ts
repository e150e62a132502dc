import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { auditEvents } from "../db/tables/audit-events.ts";
import type { Logger } from "./logger.ts";

export type AuditEventType =
  | "user.registered"
  | "user.registration_attempted"
  | "login.succeeded"
  | "login.failed"
  | "logout"
  | "token.refreshed"
  | "token.refresh_reused"
  | "session.revoked"
  | "session.evicted"
  | "user.updated"
  | "user.deleted"
  | "password.reset_requested"
  | "password.reset"
  | "password.changed"
  | "email.verification_sent"
  | "email.verified"
  | "account.deletion_scheduled"
  | "account.deletion_cancelled"
  | "account.claimed"
  | "account.locked"
  | "account.unlocked"
  | "rate_limit.exceeded"
  | "otp.sent"
  | "otp.verified"
  | "otp.failed"
  | "otp.burned";

/** Who did it: taken from the request. */
export type AuditContext = { ipAddress: string | null; userAgent: string | null; requestId: string | null };

/** Events of the server's own background work (the deletion sweep): no request caused them. */
export const SYSTEM_AUDIT_CONTEXT: AuditContext = { ipAddress: null, userAgent: "servauth", requestId: null };

export type AuditEvent = {
  userId?: string | null;
  sessionId?: string | null;
  /** Never a secret: no password, token or code. */
  payload?: Record<string, unknown>;
};

/**
 * Appends security events to audit_events and counts each one (the security-events metric), so every audited
 * event is counted without the routes knowing about metrics. A failed write is logged, never thrown into the request.
 */
export function createAuditLog(db: Database, logger: Logger, countEvent: (type: AuditEventType) => void) {
  // Logins and refreshes each write one: prepared once, so neither drizzle nor the server builds or plans it again.
  const insert = db
    .insert(auditEvents)
    .values({
      type: sql.placeholder("type"),
      userId: sql.placeholder("userId"),
      sessionId: sql.placeholder("sessionId"),
      payload: sql.placeholder("payload"),
      ipAddress: sql.placeholder("ipAddress"),
      userAgent: sql.placeholder("userAgent"),
      requestId: sql.placeholder("requestId"),
    })
    .prepare("audit_event_insert");
  return {
    async record(type: AuditEventType, event: AuditEvent, context: AuditContext): Promise<void> {
      // Counted even if the write below fails: the event happened.
      countEvent(type);
      try {
        await insert.execute({
          type,
          userId: event.userId ?? null,
          sessionId: event.sessionId ?? null,
          payload: event.payload ?? {},
          ipAddress: context.ipAddress,
          userAgent: context.userAgent,
          requestId: context.requestId,
        });
      } catch (error) {
        logger.error({ err: error, auditType: type, userId: event.userId }, "audit event not recorded");
      }
    },

    /**
     * One page of the user's own events, newest first. `after` is the id of the last event of the previous page
     * (keyset paging on (created_at, id), so events written meanwhile neither repeat nor shift the pages); an id
     * that is not one of the user's events yields an empty page.
     */
    async listForUser(userId: string, page: { limit: number; after?: string | undefined }) {
      const ownEvent = eq(auditEvents.userId, userId);
      const afterCursor =
        page.after === undefined
          ? undefined
          : sql`(${auditEvents.createdAt}, ${auditEvents.id}) < (select created_at, id from audit_events where id = ${page.after} and user_id = ${userId})`;
      return db
        .select()
        .from(auditEvents)
        .where(and(ownEvent, afterCursor))
        .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
        .limit(page.limit);
    },

    /** AUDIT_RETENTION_DAYS: events older than this are deleted by the retention job. */
    async purgeOlderThan(days: number): Promise<void> {
      await db.delete(auditEvents).where(lt(auditEvents.createdAt, new Date(Date.now() - days * 86_400_000)));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
