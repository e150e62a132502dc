import type { Context } from "hono";
import type { AuditContext } from "../observability/audit.ts";
import type { AppEnv, Authentication } from "./app-env.ts";

/**
 * The request's side of an audit event; an authenticated request's events belong to its session. Its address is
 * one a flow's per-address limits count by: refused (CLIENT_CLOSED_REQUEST) if the client hung up before it was read.
 */
export function auditContext(c: Context<AppEnv>): AuditContext {
  return contextWith(c, c.get("client").ip);
}

/**
 * For an event that only records what happened (a refusal by a limit): the address if it can still be read, else
 * null, so a client that hung up meanwhile cannot keep the event from being written.
 */
export function recordingAuditContext(c: Context<AppEnv>): AuditContext {
  return contextWith(c, c.get("client").ipIfKnown);
}

function contextWith(c: Context<AppEnv>, ipAddress: string | null): AuditContext {
  const auth = c.get("auth") as Authentication | undefined;
  // An API key's request belongs to no session; its events name the key in their payload where it matters.
  const session = auth?.via === "key" ? undefined : auth?.session;
  return {
    ipAddress,
    userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
    requestId: c.get("requestId"),
    // Unset on routes that do not authenticate (login, refresh): those name their session in the event.
    sessionId: session?.id ?? null,
    // What an administrator does while impersonating is theirs, not the user's: the events name them as actor.
    impersonatorId: session?.impersonatorId ?? null,
  };
}
