import { and, asc, eq, sql } from "drizzle-orm";
import type { Actor } from "../admin/actor.ts";
import { decodeCursor, encodeCursor } from "../admin/keyset-cursor.ts";
import type { Database } from "../db/client.ts";
import { outboxMessages } from "../db/tables/outbox.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { openMail } from "./mail-channel.ts";
import type { OutboxStore } from "./outbox-store.ts";

export type FailedMail = { id: string; to: string | null; subject: string | null; attempts: number; lastError: string | null; createdAt: Date; failedAt: Date | null };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Mail whose retries ran out, for administrators: who it was for and why it failed, never its body (it holds the
 * link or code). A retry puts it back in the outbox, due at once.
 */
export function createFailedMail(deps: { db: Database; store: OutboxStore; box: SecretBox; audit: Pick<AuditLog, "recordOrFail">; wake: () => void; now: () => Date }) {
  const { db, box } = deps;
  const describe = (row: typeof outboxMessages.$inferSelect): FailedMail => {
    let envelope: { to: string | null; subject: string | null } = { to: null, subject: null };
    try {
      const { to, subject } = openMail(box, row.payload);
      envelope = { to, subject };
    } catch {
      // Sealed under an earlier AUTH_SECRET: listed all the same, without its envelope.
    }
    return { id: row.id, ...envelope, attempts: row.attempts, lastError: row.lastError, createdAt: row.createdAt, failedAt: row.finishedAt };
  };

  return {
    /** Oldest first, keyset paged (src/admin/keyset-cursor.ts); VALIDATION_FAILED for a cursor this server did not make. */
    async list(page: { limit: number; cursor?: string | undefined }): Promise<{ mails: FailedMail[]; nextCursor: string | null }> {
      const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      if (after === null) throw new AppError("VALIDATION_FAILED", { errors: [{ path: "cursor", message: "Not a cursor from this list" }] });
      const rows = await db
        .select({ row: outboxMessages, position: sql<string>`${outboxMessages.createdAt}::text` })
        .from(outboxMessages)
        .where(
          and(
            eq(outboxMessages.kind, "mail"),
            eq(outboxMessages.status, "failed"),
            after === undefined ? undefined : sql`(${outboxMessages.createdAt}, ${outboxMessages.id}) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`,
          ),
        )
        .orderBy(asc(outboxMessages.createdAt), asc(outboxMessages.id))
        .limit(page.limit + 1);
      const shown = rows.slice(0, page.limit);
      const last = shown.at(-1);
      return {
        mails: shown.map(({ row }) => describe(row)),
        nextCursor: rows.length > page.limit && last !== undefined ? encodeCursor({ createdAt: last.position, id: last.row.id }) : null,
      };
    },

    /** Sends a failed mail again (its attempts start over); NOT_FOUND unless it is a failed mail. */
    async retry(id: string, actor: Actor): Promise<void> {
      if (!UUID.test(id) || !(await deps.store.requeue(id, "mail", "failed", deps.now()))) throw new AppError("NOT_FOUND", { message: "No such failed mail" });
      await deps.audit.recordOrFail("admin.mail_retried", { actorId: actor.adminId, payload: { outboxId: id } }, actor.audit);
      deps.wake();
    },
  };
}

export type FailedMailService = ReturnType<typeof createFailedMail>;
