import { and, eq, isNull, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { webhookEndpoints } from "../db/tables/webhooks.ts";
import { SYSTEM_AUDIT_CONTEXT, type AuditLog } from "../observability/audit.ts";
import type { OutboxChannel } from "../outbox/outbox-worker.ts";
import { fixedSchedule } from "../outbox/retry-schedule.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { postWebhook } from "./webhook-post.ts";
import { signWebhook } from "./webhook-secrets.ts";

/** The retry schedule the issue fixes: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then failed. */
export const WEBHOOK_RETRY_DELAYS_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000] as const;
/** An endpoint failing without a single success for this long is disabled (and that is audited). */
export const FAILING_DISABLE_AFTER_MS = 3 * 86_400_000;

export type WebhookChannelDeps = {
  db: Database;
  box: SecretBox;
  audit: Pick<AuditLog, "record">;
  allowInternal: boolean;
  now: () => Date;
  timeoutMs?: number;
  random?: () => number;
};

/**
 * Delivers webhook rows: signs with the endpoint's live secrets, POSTs (webhook-post.ts), 2xx is success. A 410
 * disables the endpoint at once; three days of failures without a success disable it too. Either is audited.
 */
export function createWebhookChannel(deps: WebhookChannelDeps): OutboxChannel {
  const { db, now } = deps;

  async function disable(endpointId: string, reason: "gone" | "failing"): Promise<void> {
    const [disabled] = await db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: reason })
      .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.enabled, true)))
      .returning({ id: webhookEndpoints.id });
    if (disabled !== undefined) await deps.audit.record("webhook.endpoint_disabled", { payload: { endpointId, reason } }, SYSTEM_AUDIT_CONTEXT);
  }

  return {
    retrySchedule: fixedSchedule(WEBHOOK_RETRY_DELAYS_MS, deps.random),

    async deliver(message) {
      if (message.endpointId === null) return { ok: false, error: "no endpoint", final: true };
      const [endpoint] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, message.endpointId));
      if (endpoint === undefined) return { ok: false, error: "the endpoint was deleted", final: true };
      if (!endpoint.enabled) return { ok: false, error: "the endpoint is disabled", final: true };
      // The signature's timestamp is checked by receivers against their own clock: the wall clock, not an injected one.
      const headers = signWebhook(deps.box, endpoint, { id: message.id, body: message.payload }, new Date(), now());
      const result = await postWebhook(new URL(endpoint.url), headers, message.payload, { allowInternal: deps.allowInternal, ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) });
      if ("error" in result) return { ok: false, error: result.error };
      if (result.statusCode >= 200 && result.statusCode < 300) return { ok: true, statusCode: result.statusCode };
      if (result.statusCode === 410) return { ok: false, statusCode: 410, error: "410 Gone: the receiver asked for no more", final: true };
      return { ok: false, statusCode: result.statusCode, error: `HTTP ${result.statusCode}` };
    },

    async afterAttempt(message, outcome) {
      const endpointId = message.endpointId;
      if (endpointId === null) return;
      if (outcome.ok) {
        await db.update(webhookEndpoints).set({ failingSince: null }).where(and(eq(webhookEndpoints.id, endpointId), sql`${webhookEndpoints.failingSince} is not null`));
        return;
      }
      if (outcome.statusCode === 410) return disable(endpointId, "gone");
      if (outcome.final === true) return;
      const at = now();
      await db.update(webhookEndpoints).set({ failingSince: at }).where(and(eq(webhookEndpoints.id, endpointId), isNull(webhookEndpoints.failingSince)));
      const [stale] = await db
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.id, endpointId), lte(webhookEndpoints.failingSince, new Date(at.getTime() - FAILING_DISABLE_AFTER_MS))));
      if (stale !== undefined) await disable(endpointId, "failing");
    },
  };
}
