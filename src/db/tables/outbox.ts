import { sql } from "drizzle-orm";
import { index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Deliveries owed to the outside world (mail, webhooks), written in the same transaction as the change that owes
 * them and delivered afterwards by a worker in any instance (src/outbox/). `id` is stable across retries, so a
 * receiver can de-duplicate (at least once). A mail's payload is sealed: it carries one-time tokens; so is an intent's.
 */
export const outboxMessages = pgTable(
  "outbox_messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Which channel handles it: "mail", "webhook", or "compose" (an intent that becomes mail, src/outbox/compose-channel.ts). */
    kind: text("kind").notNull(),
    /** mail: the sealed message; webhook: the event's JSON; compose: the sealed intent. */
    payload: text("payload").notNull(),
    /** The webhook endpoint it goes to (null for mail). */
    endpointId: uuid("endpoint_id"),
    /** pending -> delivered, or pending -> failed once retries are exhausted (kept for admins). */
    status: text("status").$type<"pending" | "delivered" | "failed">().notNull().default("pending"),
    /** Claims so far, a crashed delivery included. */
    attempts: integer("attempts").notNull().default(0),
    /**
     * When a worker may claim it next: the first delivery, the next retry, or while a worker holds it, the end of
     * that worker's lease (a worker that dies leaves a row that becomes due again when the lease ends).
     */
    availableAt: timestamp("available_at", { withTimezone: true }).notNull(),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** When it was delivered or given up on. */
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (table) => [
    index("outbox_messages_due_idx").on(table.availableAt).where(sql`${table.status} = 'pending'`),
    index("outbox_messages_kind_status_created_idx").on(table.kind, table.status, table.createdAt, table.id),
    index("outbox_messages_endpoint_created_idx").on(table.endpointId, table.createdAt, table.id).where(sql`${table.endpointId} is not null`),
  ],
);

/** One row per delivery attempt: what the admin API shows of a delivery's history. */
export const outboxAttempts = pgTable(
  "outbox_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => outboxMessages.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    /** The receiver's HTTP status (webhooks); null when none came back. */
    statusCode: integer("status_code"),
    /** Null on success. */
    error: text("error"),
  },
  (table) => [index("outbox_attempts_message_idx").on(table.messageId, table.attempt)],
);
