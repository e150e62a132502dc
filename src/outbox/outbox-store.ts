import { and, asc, count, eq, inArray, isNull, lt, lte, notInArray, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.ts";
import { outboxAttempts, outboxMessages } from "../db/tables/outbox.ts";

/** mail and webhook are deliveries; compose is an intent that becomes mail (src/outbox/compose-channel.ts). */
export type OutboxKind = "mail" | "webhook" | "compose";
export type OutboxMessage = typeof outboxMessages.$inferSelect;
/** The database or a transaction of it: a row written through a caller's transaction commits with its change. */
export type Executor = Pick<Database, "insert">;
export type NewOutboxMessage = { kind: OutboxKind; payload: string; endpointId?: string | null; id?: string };
/** The fencing token of a claim: the row's id and the attempt count the claim set. */
export type Claim = Pick<OutboxMessage, "id" | "attempts">;
export type AttemptRecord = { messageId: string; attempt: number; startedAt: Date; latencyMs: number; statusCode: number | null; error: string | null };

/**
 * The outbox table's statements. Claiming is one UPDATE over a `FOR UPDATE SKIP LOCKED` subselect: instances
 * claiming at once each get different rows, and a claimed row's `available_at` moves to the end of the lease, so
 * nobody else claims it while it is being delivered and anybody may once the lease ends (its worker died).
 */
export function createOutboxStore(db: Database) {
  async function settle(claim: Claim, change: Partial<typeof outboxMessages.$inferInsert>, executor: Pick<Database, "update"> = db): Promise<boolean> {
    const rows = await executor
      .update(outboxMessages)
      .set(change)
      .where(and(eq(outboxMessages.id, claim.id), eq(outboxMessages.status, "pending"), eq(outboxMessages.attempts, claim.attempts)))
      .returning({ id: outboxMessages.id });
    return rows.length > 0;
  }

  return {
    /** Writes through `executor` (the caller's transaction, or the database). */
    async add(executor: Executor, messages: NewOutboxMessage[], now: Date): Promise<void> {
      if (messages.length === 0) return;
      await executor.insert(outboxMessages).values(messages.map((message) => ({ ...message, availableAt: now })));
    },

    /**
     * Up to `limit` due rows of one kind (each kind is its own lane, see OutboxWorker), oldest first, none for the
     * endpoints in `skipEndpoints` (those at their cap of deliveries in flight).
     */
    async claim(now: Date, leaseMs: number, limit: number, kind: OutboxKind, skipEndpoints: string[] = []): Promise<OutboxMessage[]> {
      const due = db
        .select({ id: outboxMessages.id })
        .from(outboxMessages)
        .where(
          and(
            eq(outboxMessages.status, "pending"),
            eq(outboxMessages.kind, kind),
            lte(outboxMessages.availableAt, now),
            skipEndpoints.length === 0 ? undefined : or(isNull(outboxMessages.endpointId), notInArray(outboxMessages.endpointId, skipEndpoints)),
          ),
        )
        .orderBy(asc(outboxMessages.availableAt))
        .limit(limit)
        .for("update", { skipLocked: true });
      return db
        .update(outboxMessages)
        .set({ availableAt: new Date(now.getTime() + leaseMs), attempts: sql`${outboxMessages.attempts} + 1` })
        .where(and(inArray(outboxMessages.id, due), eq(outboxMessages.status, "pending")))
        .returning();
    },

    async recordAttempt(record: AttemptRecord): Promise<void> {
      await db.insert(outboxAttempts).values(record);
    },

    // Settling is fenced by the claim: the row must still be pending with the attempt count this claim gave it. An
    // attempt that outlived its lease (another instance claimed the row meanwhile) settles nothing: false.
    // `alsoWrite` (a composed intent's mail) commits with the settling, or not at all: written once per row however
    // often it was attempted, and never by an attempt whose claim was lost.
    async markDelivered(claim: Claim, now: Date, alsoWrite?: (tx: Transaction) => Promise<void>): Promise<boolean> {
      const delivered = { status: "delivered" as const, finishedAt: now, lastError: null };
      if (alsoWrite === undefined) return settle(claim, delivered);
      return db.transaction(async (tx) => {
        if (!(await settle(claim, delivered, tx))) return false;
        await alsoWrite(tx);
        return true;
      });
    },

    async scheduleRetry(claim: Claim, at: Date, error: string): Promise<boolean> {
      return settle(claim, { availableAt: at, lastError: error });
    },

    async markFailed(claim: Claim, now: Date, error: string): Promise<boolean> {
      return settle(claim, { status: "failed", finishedAt: now, lastError: error });
    },

    /** A settled message back to pending, due now, its attempts starting over (an administrator's retry); false when there is no such one. */
    async requeue(id: string, kind: OutboxKind, from: Array<"failed" | "delivered"> | "failed", now: Date): Promise<boolean> {
      const rows = await db
        .update(outboxMessages)
        .set({ status: "pending", availableAt: now, attempts: 0, finishedAt: null })
        .where(and(eq(outboxMessages.id, id), eq(outboxMessages.kind, kind), inArray(outboxMessages.status, typeof from === "string" ? [from] : from)))
        .returning({ id: outboxMessages.id });
      return rows.length > 0;
    },

    /**
     * Rows finished before `before` (OUTBOX_RETENTION_DAYS): delivered ones, and compose intents however they ended
     * (no administrator retries an intent; a failed one's sealed address and code need not stay). Failed mail and
     * webhook deliveries stay for admins.
     */
    async purgeDelivered(before: Date): Promise<number> {
      const rows = await db
        .delete(outboxMessages)
        .where(and(or(eq(outboxMessages.status, "delivered"), eq(outboxMessages.kind, "compose")), lt(outboxMessages.finishedAt, before)))
        .returning({ id: outboxMessages.id });
      return rows.length;
    },

    /** Rows per (kind, status), for the depth metric. */
    async countByStatus(): Promise<Array<{ kind: string; status: string; count: number }>> {
      return db
        .select({ kind: outboxMessages.kind, status: outboxMessages.status, count: count() })
        .from(outboxMessages)
        .where(inArray(outboxMessages.status, ["pending", "failed"]))
        .groupBy(outboxMessages.kind, outboxMessages.status);
    },
  };
}

export type OutboxStore = ReturnType<typeof createOutboxStore>;
