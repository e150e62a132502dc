import type { AuditEvent, AuditEventType } from "../observability/audit.ts";

/** The event types endpoints subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.email_verified",
  "user.deleted",
  "user.banned",
  "user.unbanned",
  "user.roles_changed",
  "session.created",
  "session.revoked",
  "login.failed",
  "password.changed",
  "password.reset",
  "mfa.enabled",
  "mfa.disabled",
  "passkey.added",
  "passkey.removed",
  "account.locked",
  "account.linked",
  "account.unlinked",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number] | "webhook.test";

/** What an audited event becomes for receivers: the types it is sent as, and the few payload fields it carries. */
type Mapping = { types: (payload: Record<string, unknown>) => WebhookEventType[]; fields?: readonly string[] };
const as = (...types: WebhookEventType[]): Mapping["types"] => () => types;

/**
 * The one table from audit event types to webhook event types: every place that audits emits, in the same
 * statement as its audit row (src/observability/audit.ts). Fields are copied from the audit payload only when
 * listed here, so a payload field added later never leaks by default; ids come from the event itself.
 */
export const WEBHOOKS_OF_AUDIT: Partial<Record<AuditEventType, Mapping>> = {
  "user.registered": { types: as("user.created") },
  "admin.user_created": { types: as("user.created") },
  "user.updated": { types: as("user.updated"), fields: ["changed"] },
  "admin.user_updated": {
    types: (payload) => {
      const changed = Array.isArray(payload.changed) ? payload.changed : [];
      const rolesOnly = changed.length === 1 && changed[0] === "roles";
      return [...(rolesOnly ? [] : ["user.updated" as const]), ...(changed.includes("roles") ? ["user.roles_changed" as const] : [])];
    },
    fields: ["changed", "roles"],
  },
  "email.verified": { types: as("user.email_verified") },
  "user.deleted": { types: as("user.deleted") },
  "admin.user_deleted": { types: as("user.deleted") },
  "admin.user_banned": { types: as("user.banned"), fields: ["expiresAt"] },
  "admin.user_unbanned": { types: as("user.unbanned") },
  "login.succeeded": { types: as("session.created"), fields: ["via"] },
  logout: { types: as("session.revoked") },
  "session.revoked": { types: as("session.revoked") },
  "session.evicted": { types: as("session.revoked") },
  "admin.sessions_revoked": { types: as("session.revoked") },
  "login.failed": { types: as("login.failed") },
  "password.changed": { types: as("password.changed") },
  "password.reset": { types: as("password.reset") },
  "mfa.enabled": { types: as("mfa.enabled"), fields: ["method"] },
  "mfa.disabled": { types: as("mfa.disabled"), fields: ["method"] },
  "admin.mfa_reset": { types: as("mfa.disabled") },
  "passkey.added": { types: as("passkey.added") },
  "passkey.removed": { types: as("passkey.removed") },
  "account.locked": { types: as("account.locked") },
  "account.linked": { types: as("account.linked"), fields: ["provider"] },
  "account.unlinked": { types: as("account.unlinked"), fields: ["provider"] },
};

export type WebhookEvent = { type: WebhookEventType; timestamp: string; data: Record<string, unknown> };

/** The webhook events an audited event makes (none for most), as receivers will see them. */
export function webhookEventsOf(type: AuditEventType, event: AuditEvent, sessionId: string | null, at: Date): WebhookEvent[] {
  const mapping = WEBHOOKS_OF_AUDIT[type];
  if (mapping === undefined) return [];
  const payload = event.payload ?? {};
  const data: Record<string, unknown> = {};
  if (event.userId) data.userId = event.userId;
  if (event.actorId) data.actorId = event.actorId;
  if (sessionId) data.sessionId = sessionId;
  for (const field of mapping.fields ?? []) if (payload[field] !== undefined) data[field] = payload[field];
  return mapping.types(payload).map((webhookType) => ({ type: webhookType, timestamp: at.toISOString(), data }));
}
