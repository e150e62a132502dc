import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Actor } from "../admin/actor.ts";
import { decodeCursor, encodeCursor } from "../admin/keyset-cursor.ts";
import type { Database } from "../db/client.ts";
import { outboxAttempts, outboxMessages } from "../db/tables/outbox.ts";
import { webhookEndpoints } from "../db/tables/webhooks.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { OutboxStore } from "../outbox/outbox-store.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { assertEndpointUrl, type EndpointUrlPolicy } from "./endpoint-url.ts";
import type { WebhookEvent } from "./webhook-events.ts";
import { newWebhookSecret, ROTATION_OVERLAP_MS } from "./webhook-secrets.ts";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type EndpointInput = { url: string; eventTypes: string[]; description?: string | undefined; enabled?: boolean | undefined };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = () => new AppError("NOT_FOUND", { message: "No such webhook endpoint" });

export type WebhookEndpointDeps = {
  db: Database;
  store: OutboxStore;
  box: SecretBox;
  audit: Pick<AuditLog, "recordOrFail">;
  urlPolicy: EndpointUrlPolicy;
  wake: () => void;
  now: () => Date;
};

/**
 * The admin API's webhook endpoints. The signing secret is shown once, on creation and rotation; it is kept sealed.
 * Every change is audited (recordOrFail: an administrator's action leaves a trail or fails).
 */
export function createWebhookEndpoints(deps: WebhookEndpointDeps) {
  const { db, box, now } = deps;

  async function find(id: string): Promise<EndpointRow> {
    if (!UUID.test(id)) throw notFound();
    const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (row === undefined) throw notFound();
    return row;
  }

  return {
    list: (): Promise<EndpointRow[]> => db.select().from(webhookEndpoints).orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id)),

    get: find,

    async create(input: EndpointInput, actor: Actor): Promise<{ endpoint: EndpointRow; secret: string }> {
      const url = await assertEndpointUrl(input.url, deps.urlPolicy);
      const secret = newWebhookSecret();
      const [endpoint] = await db
        .insert(webhookEndpoints)
        .values({ url: url.toString(), eventTypes: input.eventTypes, description: input.description ?? "", enabled: input.enabled ?? true, sealedSecret: box.seal(secret) })
        .returning();
      if (endpoint === undefined) throw new Error("webhook endpoint insert returned nothing");
      await deps.audit.recordOrFail("admin.webhook_created", { actorId: actor.adminId, payload: { endpointId: endpoint.id, url: endpoint.url } }, actor.audit);
      return { endpoint, secret };
    },

    /** Re-enabling clears the reason the server disabled it and its failure streak. */
    async update(id: string, patch: Partial<EndpointInput>, actor: Actor): Promise<EndpointRow> {
      await find(id);
      const url = patch.url === undefined ? undefined : (await assertEndpointUrl(patch.url, deps.urlPolicy)).toString();
      const [updated] = await db
        .update(webhookEndpoints)
        .set({
          ...(url === undefined ? {} : { url }),
          ...(patch.eventTypes === undefined ? {} : { eventTypes: patch.eventTypes }),
          ...(patch.description === undefined ? {} : { description: patch.description }),
          ...(patch.enabled === undefined ? {} : { enabled: patch.enabled, ...(patch.enabled ? { disabledReason: null, failingSince: null } : {}) }),
        })
        .where(eq(webhookEndpoints.id, id))
        .returning();
      if (updated === undefined) throw notFound();
      await deps.audit.recordOrFail("admin.webhook_updated", { actorId: actor.adminId, payload: { endpointId: id, changed: Object.keys(patch) } }, actor.audit);
      return updated;
    },

    /** Its pending deliveries go with it. */
    async remove(id: string, actor: Actor): Promise<void> {
      await find(id);
      await db.transaction(async (tx) => {
        await tx.delete(outboxMessages).where(eq(outboxMessages.endpointId, id));
        await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
      });
      await deps.audit.recordOrFail("admin.webhook_deleted", { actorId: actor.adminId, payload: { endpointId: id } }, actor.audit);
    },

    /**
     * A new secret; the current one keeps signing alongside it for 24 hours (ROTATION_OVERLAP_MS). One UPDATE, the
     * current secret moved aside in it: of two rotations at once one wins, and the other is refused rather than
     * handing out a secret that never signs. WEBHOOK_ROTATION_PENDING while a previous secret's overlap runs, since
     * rotating again would drop it before its promised end.
     */
    async rotateSecret(id: string, actor: Actor): Promise<{ secret: string; previousSecretExpiresAt: Date }> {
      await find(id);
      const secret = newWebhookSecret();
      const at = now();
      const previousSecretExpiresAt = new Date(at.getTime() + ROTATION_OVERLAP_MS);
      const [rotated] = await db
        .update(webhookEndpoints)
        .set({ sealedSecret: box.seal(secret), previousSealedSecret: sql`${webhookEndpoints.sealedSecret}`, previousSecretExpiresAt })
        .where(and(eq(webhookEndpoints.id, id), or(isNull(webhookEndpoints.previousSecretExpiresAt), lte(webhookEndpoints.previousSecretExpiresAt, at))))
        .returning({ id: webhookEndpoints.id });
      if (rotated === undefined) {
        await find(id);
        throw new AppError("WEBHOOK_ROTATION_PENDING");
      }
      await deps.audit.recordOrFail("admin.webhook_secret_rotated", { actorId: actor.adminId, payload: { endpointId: id } }, actor.audit);
      return { secret, previousSecretExpiresAt };
    },

    /** Queues a `webhook.test` event for this endpoint alone (sent even if it subscribes to no type). Returns its id. */
    async sendTest(id: string): Promise<string> {
      const endpoint = await find(id);
      const messageId = randomUUID();
      const event: WebhookEvent = { type: "webhook.test", timestamp: now().toISOString(), data: { endpointId: endpoint.id } };
      await deps.store.add(db, [{ id: messageId, kind: "webhook", payload: JSON.stringify(event), endpointId: endpoint.id }], now());
      deps.wake();
      return messageId;
    },

    /** The endpoint's deliveries, newest first, keyset paged, each with its attempts. */
    async deliveries(id: string, page: { limit: number; cursor?: string | undefined }) {
      await find(id);
      const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      if (after === null) throw new AppError("VALIDATION_FAILED", { errors: [{ path: "cursor", message: "Not a cursor from this list" }] });
      const rows = await db
        .select({ row: outboxMessages, position: sql<string>`${outboxMessages.createdAt}::text` })
        .from(outboxMessages)
        .where(
          and(
            eq(outboxMessages.endpointId, id),
            after === undefined ? undefined : sql`(${outboxMessages.createdAt}, ${outboxMessages.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`,
          ),
        )
        .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id))
        .limit(page.limit + 1);
      const shown = rows.slice(0, page.limit);
      const ids = shown.map(({ row }) => row.id);
      const attempts = ids.length === 0 ? [] : await db.select().from(outboxAttempts).where(inArray(outboxAttempts.messageId, ids)).orderBy(asc(outboxAttempts.attempt));
      const last = shown.at(-1);
      return {
        deliveries: shown.map(({ row }) => ({
          id: row.id,
          eventType: (JSON.parse(row.payload) as WebhookEvent).type,
          status: row.status,
          nextAttemptAt: row.status === "pending" ? row.availableAt : null,
          createdAt: row.createdAt,
          attempts: attempts.filter((attempt) => attempt.messageId === row.id),
        })),
        nextCursor: rows.length > page.limit && last !== undefined ? encodeCursor({ createdAt: last.position, id: last.row.id }) : null,
      };
    },

    /** Sends a settled delivery again, due now; NOT_FOUND for anything else. */
    async retryDelivery(deliveryId: string): Promise<void> {
      if (!UUID.test(deliveryId) || !(await deps.store.requeue(deliveryId, "webhook", ["failed", "delivered"], now()))) {
        throw new AppError("NOT_FOUND", { message: "No such finished webhook delivery" });
      }
      deps.wake();
    },
  };
}

export type WebhookEndpoints = ReturnType<typeof createWebhookEndpoints>;
