import { and, desc, eq, gte, lt, type Placeholder, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.ts";
import { refusingBadData } from "../db/errors.ts";
import { auditEvents } from "../db/tables/audit-events.ts";
import { webhookEventsOf } from "../webhooks/webhook-events.ts";
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
  | "otp.burned"
  | "session.reauthenticated"
  | "session.reauthentication_failed"
  | "mfa.enabled"
  | "mfa.disabled"
  | "mfa.recovery_codes_generated"
  | "mfa.recovery_code_used"
  | "mfa.challenged"
  | "mfa.failed"
  | "mfa.burned"
  | "admin.user_created"
  | "admin.user_updated"
  | "admin.user_deleted"
  | "admin.user_banned"
  | "admin.user_unbanned"
  | "admin.sessions_revoked"
  | "admin.password_reset_sent"
  | "admin.impersonation_started"
  | "admin.mfa_reset"
  | "admin.mail_retried"
  | "oauth.failed"
  | "account.linked"
  | "account.unlinked"
  | "api_key.created"
  | "api_key.deleted"
  | "api_key.used_after_revoke"
  | "admin.client_created"
  | "admin.client_updated"
  | "admin.client_deleted"
  | "admin.client_secret_rotated"
  | "passkey.added"
  | "passkey.removed"
  | "passkey.renamed"
  | "passkey.signed_in"
  | "passkey.refused"
  | "admin.webhook_created"
  | "admin.webhook_updated"
  | "admin.webhook_deleted"
  | "admin.webhook_secret_rotated"
  | "webhook.endpoint_disabled";

/** The admin API's filters over every account's events; `from` inclusive, `to` exclusive. */
export type AuditFilter = { userId?: string | undefined; actorId?: string | undefined; type?: string | undefined; from?: Date | undefined; to?: Date | undefined };

/** Who did it: taken from the request, with the session it was made in (null outside one). */
export type AuditContext = {
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  sessionId: string | null;
  /** In an impersonation session: the administrator really acting, the actor of every event the request records. */
  impersonatorId?: string | null;
};

/** Events of the server's own background work (the deletion sweep): no request caused them. */
export const SYSTEM_AUDIT_CONTEXT: AuditContext = { ipAddress: null, userAgent: "servauth", requestId: null, sessionId: null };

export type AuditEvent = {
  userId?: string | null;
  /** The administrator who acted on `userId`'s account (admin.* events). */
  actorId?: string | null;
  /** The session the event is about (one revoked, evicted, or just made); unset: the context's session. */
  sessionId?: string | null;
  /** Never a secret: no password, token or code. */
  payload?: Record<string, unknown>;
};

/** One of several events of one action, written together (recordAll). */
export type AuditEntry = { type: AuditEventType; event: AuditEvent };

export type AuditLogOptions = {
  /** Told when an event wrote webhook deliveries (wakes the outbox workers). */
  onWebhooksWritten?: () => void;
  now?: () => Date;
};

/** The arguments of record_audit_event (migration 0011), the jsonb ones as JSON text. */
type RecordAuditEventArguments = {
  type: string;
  userId: string | null;
  actorId: string | null;
  sessionId: string | null;
  payload: string;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  at: string;
  webhooks: string;
};

const RECORD_PLACEHOLDERS = Object.fromEntries(
  (["type", "userId", "actorId", "sessionId", "payload", "ipAddress", "userAgent", "requestId", "at", "webhooks"] as const).map((name) => [name, sql.placeholder(name)]),
) as Record<keyof RecordAuditEventArguments, Placeholder>;

const recordAuditEventCall = (a: Record<keyof RecordAuditEventArguments, unknown>) =>
  sql`record_audit_event(${a.type}, ${a.userId}::uuid, ${a.actorId}::uuid, ${a.sessionId}::uuid, ${a.payload}::jsonb, ${a.ipAddress}, ${a.userAgent}, ${a.requestId}, ${a.at}::timestamptz, ${a.webhooks}::jsonb)`;

const DELIVERIES_WRITTEN = { deliveries: sql<number>`record_audit_event` };

/**
 * Several events through record_audit_event in one statement, in the order given (a function scan yields the
 * array's elements in order, so their insertion order, `seq`, follows it): one round trip and one commit for all.
 * Each element holds the function's arguments under RecordAuditEventArguments' names (quoted: they are
 * camelCase), the jsonb ones as JSON values.
 */
const recordAllCall = (events: Placeholder) => sql`jsonb_to_recordset(${events}::jsonb) as e(
  type text, "userId" uuid, "actorId" uuid, "sessionId" uuid, payload jsonb, "ipAddress" text, "userAgent" text, "requestId" text, at timestamptz, webhooks jsonb)`;
const ALL_DELIVERIES_WRITTEN = {
  deliveries: sql<number>`coalesce(sum(record_audit_event(e.type, e."userId", e."actorId", e."sessionId", e.payload, e."ipAddress", e."userAgent", e."requestId", e.at, e.webhooks)), 0)::integer`,
};

/**
 * Appends security events to audit_events and counts each one (the security-events metric), so every audited
 * event is counted without the routes knowing about metrics. A failed write is logged, never thrown into the request.
 * An event that maps to webhook events (src/webhooks/webhook-events.ts) writes their deliveries, one per
 * subscribed enabled endpoint, in the same statement as its audit row: both are written or neither.
 */
export function createAuditLog(db: Database, logger: Logger, countEvent: (type: AuditEventType) => void, options: AuditLogOptions = {}) {
  const now = options.now ?? (() => new Date());
  // Logins and refreshes each write one: prepared once, so neither drizzle nor the server builds or plans it again.
  const insert = db
    .insert(auditEvents)
    .values({
      type: sql.placeholder("type"),
      userId: sql.placeholder("userId"),
      actorId: sql.placeholder("actorId"),
      sessionId: sql.placeholder("sessionId"),
      payload: sql.placeholder("payload"),
      ipAddress: sql.placeholder("ipAddress"),
      userAgent: sql.placeholder("userAgent"),
      requestId: sql.placeholder("requestId"),
    })
    .prepare("audit_event_insert");
  // An event that maps to webhook events: the function of migration 0011, whose statements' plans PostgreSQL keeps
  // per connection (a login writes one; with the sessions the cap evicts, all in one statement: recordAll).
  // Prepared outside a transaction.
  const recordWithDeliveries = db.select(DELIVERIES_WRITTEN).from(recordAuditEventCall(RECORD_PLACEHOLDERS)).prepare("audit_event_record");
  const recordWithDeliveriesIn = (tx: Transaction, values: RecordAuditEventArguments) => tx.select(DELIVERIES_WRITTEN).from(recordAuditEventCall(values));
  const recordAllWithDeliveries = db.select(ALL_DELIVERIES_WRITTEN).from(recordAllCall(sql.placeholder("events"))).prepare("audit_events_record_all");
  /** The event's row, and what it is sent as to webhook receivers (each with the exact body they will get). */
  const rowAndWebhooks = (type: AuditEventType, event: AuditEvent, context: AuditContext, at: Date) => {
    const row = {
      type,
      userId: event.userId ?? null,
      actorId: event.actorId ?? context.impersonatorId ?? null,
      sessionId: event.sessionId ?? context.sessionId,
      payload: event.payload ?? {},
      ipAddress: context.ipAddress,
      userAgent: context.userAgent,
      requestId: context.requestId,
    };
    const webhooks = webhookEventsOf(type, { ...event, actorId: row.actorId }, row.sessionId, at).map((webhook) => ({ type: webhook.type, body: JSON.stringify(webhook) }));
    return { row, webhooks };
  };
  const wroteDeliveries = (written: { deliveries: number } | undefined) => {
    // No endpoint subscribed: no delivery, and nobody is woken.
    if ((written?.deliveries ?? 0) > 0) options.onWebhooksWritten?.();
  };
  const write = async (type: AuditEventType, event: AuditEvent, context: AuditContext, tx?: Transaction): Promise<void> => {
    const at = now();
    const { row, webhooks } = rowAndWebhooks(type, event, context, at);
    if (webhooks.length === 0) {
      await (tx === undefined ? insert.execute(row) : tx.insert(auditEvents).values(row));
      return;
    }
    // The audit row and a delivery per event type and subscribed endpoint, both written or neither.
    const withDeliveries: RecordAuditEventArguments = { ...row, payload: JSON.stringify(row.payload), at: at.toISOString(), webhooks: JSON.stringify(webhooks) };
    const [written] = await (tx === undefined ? recordWithDeliveries.execute(withDeliveries) : recordWithDeliveriesIn(tx, withDeliveries));
    wroteDeliveries(written);
  };
  const writeAll = async (entries: readonly AuditEntry[], context: AuditContext): Promise<void> => {
    const at = now();
    const events = entries.map(({ type, event }) => {
      const { row, webhooks } = rowAndWebhooks(type, event, context, at);
      return { ...row, at: at.toISOString(), webhooks };
    });
    const [written] = await recordAllWithDeliveries.execute({ events: JSON.stringify(events) });
    wroteDeliveries(written);
  };
  const record = async (type: AuditEventType, event: AuditEvent, context: AuditContext): Promise<void> => {
    // Counted even if the write below fails: the event happened.
    countEvent(type);
    try {
      await write(type, event, context);
    } catch (error) {
      logger.error({ err: error, auditType: type, userId: event.userId }, "audit event not recorded");
    }
  };
  return {
    record,

    /**
     * Several events of one action (a sign-in and the sessions its cap evicted), in the order given, in one
     * statement: one round trip and one commit instead of one each, and all written or none, so one event the
     * database refuses (a payload string with a NUL, which jsonb cannot hold) loses the others with it. Like
     * record, a failed write is logged, never thrown. One event is written exactly as record writes it.
     */
    async recordAll(entries: readonly AuditEntry[], context: AuditContext): Promise<void> {
      const [first] = entries;
      if (first === undefined) return;
      if (entries.length === 1) return record(first.type, first.event, context);
      for (const { type } of entries) countEvent(type);
      try {
        await writeAll(entries, context);
      } catch (error) {
        logger.error({ err: error, auditTypes: entries.map((entry) => entry.type), userId: first.event.userId }, "audit events not recorded");
      }
    },

    /**
     * Like record, but a failed write is thrown: an administrator's action must leave a trail, so the caller
     * fails (or undoes) the action rather than let it pass unrecorded.
     */
    async recordOrFail(type: AuditEventType, event: AuditEvent, context: AuditContext): Promise<void> {
      countEvent(type);
      await write(type, event, context);
    },

    /**
     * In the caller's transaction (a composed intent's, src/outbox/compose-channel.ts): the event exists exactly
     * when the rest of it commits, and a failed write fails the transaction.
     */
    async recordIn(tx: Transaction, type: AuditEventType, event: AuditEvent, context: AuditContext): Promise<void> {
      countEvent(type);
      await write(type, event, context, tx);
    },

    /**
     * One page of the user's own events, newest first. `after` is the id of the last event of the previous page
     * (keyset paging on (created_at, seq), so events written meanwhile neither repeat nor shift the pages); an id
     * that is not one of the user's events yields an empty page.
     */
    async listForUser(userId: string, page: { limit: number; after?: string | undefined }) {
      const ownEvent = eq(auditEvents.userId, userId);
      const afterCursor =
        page.after === undefined
          ? undefined
          : sql`(${auditEvents.createdAt}, ${auditEvents.seq}) < (select created_at, seq from audit_events where id = ${page.after} and user_id = ${userId})`;
      return db
        .select()
        .from(auditEvents)
        .where(and(ownEvent, afterCursor))
        .orderBy(desc(auditEvents.createdAt), desc(auditEvents.seq))
        .limit(page.limit);
    },

    /**
     * One page of every account's events for the admin API, newest first, keyset-paged like listForUser. `userId`
     * is the account the event is about, `actorId` the administrator who acted on it. A filter the database cannot
     * compare is VALIDATION_FAILED.
     */
    async listAll(filter: AuditFilter, page: { limit: number; after?: string | undefined }) {
      const afterCursor =
        page.after === undefined
          ? undefined
          : sql`(${auditEvents.createdAt}, ${auditEvents.seq}) < (select created_at, seq from audit_events where id = ${page.after})`;
      return refusingBadData(
        db
        .select()
        .from(auditEvents)
        .where(
          and(
            filter.userId === undefined ? undefined : eq(auditEvents.userId, filter.userId),
            filter.actorId === undefined ? undefined : eq(auditEvents.actorId, filter.actorId),
            filter.type === undefined ? undefined : eq(auditEvents.type, filter.type),
            filter.from === undefined ? undefined : gte(auditEvents.createdAt, filter.from),
            filter.to === undefined ? undefined : lt(auditEvents.createdAt, filter.to),
            afterCursor,
          ),
        )
        .orderBy(desc(auditEvents.createdAt), desc(auditEvents.seq))
        .limit(page.limit),
      );
    },

    /** AUDIT_RETENTION_DAYS: events older than this are deleted by the retention job. */
    async purgeOlderThan(days: number): Promise<void> {
      await db.delete(auditEvents).where(lt(auditEvents.createdAt, new Date(Date.now() - days * 86_400_000)));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
