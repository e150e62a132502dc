import type { Context } from "hono";
import type { AuditContext } from "../observability/audit.ts";
import type { AppEnv } from "./app-env.ts";

/** The request's side of an audit event. */
export function auditContext(c: Context<AppEnv>): AuditContext {
  return {
    ipAddress: c.get("clientIp"),
    userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
    requestId: c.get("requestId"),
  };
}
