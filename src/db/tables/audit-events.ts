import { sql } from "drizzle-orm";
import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Security events. No foreign keys: the trail of a deleted user or session must outlive it. The payload never
 * holds secrets (no passwords, tokens or codes).
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    type: text("type").notNull(),
    userId: uuid("user_id"),
    /** The administrator who acted on `userId`'s account (admin.* events); null for the user's own actions. */
    actorId: uuid("actor_id"),
    sessionId: uuid("session_id"),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /**
     * Insertion order, the tie-break for events with the same created_at: the embedded database's clock counts
     * milliseconds, and one request can record several events within one.
     */
    seq: bigint("seq", { mode: "number" }).notNull().generatedAlwaysAsIdentity(),
  },
  (table) => [
    index("audit_events_user_id_created_at_seq_idx").on(table.userId, table.createdAt, table.seq),
    index("audit_events_created_at_seq_idx").on(table.createdAt, table.seq),
    index("audit_events_actor_id_created_at_idx").on(table.actorId, table.createdAt).where(sql`${table.actorId} is not null`),
  ],
);
