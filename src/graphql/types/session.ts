import type { SessionListing } from "../../sessions/session-service.ts";
import type { GraphqlBuilder } from "../builder.ts";

/** A listed session; `current` is set only in the caller's own list. */
export type SessionShape = SessionListing & { current?: boolean };

/** Session: a live session as GET /auth/sessions and the admin API show it (SessionFields). */
export function addSessionType(builder: GraphqlBuilder) {
  return builder.objectRef<SessionShape>("Session").implement({
    description: "A live session: one sign-in on one device",
    fields: (t) => ({
      id: t.exposeID("id"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      lastActiveAt: t.expose("lastActiveAt", { type: "DateTime" }),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
      ipAddress: t.exposeString("ipAddress", { nullable: true }),
      userAgent: t.exposeString("userAgent", { nullable: true }),
      amr: t.exposeStringList("amr", { description: "Authentication methods in the order used (RFC 8176 names)" }),
      aal: t.exposeInt("aal", { description: "Assurance level: 1 for one factor, 2 for two distinct kinds" }),
      authTime: t.expose("authTime", { type: "DateTime", description: "When the user last proved a factor" }),
      impersonated: t.boolean({ description: "Opened by an administrator acting as the user", resolve: (session) => session.impersonatorId !== null }),
      current: t.boolean({
        nullable: true,
        description: "This request's own session (in the caller's own list; null in the admin API's)",
        resolve: (session) => session.current ?? null,
      }),
    }),
  });
}

export type SessionRef = ReturnType<typeof addSessionType>;
