import type { AuditContext } from "../observability/audit.ts";

/**
 * Who performs an admin action: the administrator's user id (null at the command line, where the operator has
 * shell access rather than an account) and the request's side of the audit event.
 */
export type Actor = { adminId: string | null; audit: AuditContext };
