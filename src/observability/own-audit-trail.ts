import type { AuditLog } from "./audit.ts";

type AuditRow = Awaited<ReturnType<AuditLog["listForUser"]>>[number];

/** An event as its account's owner sees it; `actorId` is present only with AUDIT_SHOW_ADMIN. */
export type OwnAuditEvent = Pick<AuditRow, "id" | "type" | "createdAt" | "sessionId" | "ipAddress" | "userAgent" | "payload"> & { actorId?: string | null };

/** Payload fields only administrators read (GET /auth/admin/audit): a ban's reason may name what the user is suspected of. */
const ADMINISTRATORS_ONLY: Partial<Record<string, readonly string[]>> = { "admin.user_banned": ["reason"] };

/** An event with who (and from where) an administrator acted hidden unless `showActor`. */
export function withActor(event: AuditRow, showActor: boolean): OwnAuditEvent {
  const hidden = event.actorId !== null && !showActor;
  return {
    id: event.id,
    type: event.type,
    createdAt: event.createdAt,
    sessionId: hidden ? null : event.sessionId,
    ipAddress: hidden ? null : event.ipAddress,
    userAgent: hidden ? null : event.userAgent,
    payload: event.payload,
    ...(showActor ? { actorId: event.actorId } : {}),
  };
}

function ownPayload(event: AuditRow): Record<string, unknown> {
  const hidden = ADMINISTRATORS_ONLY[event.type] ?? [];
  return Object.fromEntries(Object.entries(event.payload).filter(([field]) => !hidden.includes(field)));
}

/** The caller's own audit trail, newest first, a page at a time (GET /auth/audit and GraphQL auditEvents). */
export function createOwnAuditTrail(audit: Pick<AuditLog, "listForUser">, showAdmin: boolean) {
  return {
    /** `after` is the previous page's nextCursor (an event id); nextCursor is null on the last page. */
    async page(userId: string, page: { limit: number; after?: string | undefined }): Promise<{ events: OwnAuditEvent[]; nextCursor: string | null }> {
      // One more than asked tells whether a next page exists without a count query.
      const rows = await audit.listForUser(userId, { limit: page.limit + 1, after: page.after });
      const shown = rows.slice(0, page.limit);
      return {
        events: shown.map((event) => ({ ...withActor(event, showAdmin), payload: ownPayload(event) })),
        nextCursor: rows.length > page.limit ? (shown.at(-1)?.id ?? null) : null,
      };
    },
  };
}

export type OwnAuditTrail = ReturnType<typeof createOwnAuditTrail>;
