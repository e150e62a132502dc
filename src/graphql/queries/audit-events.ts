import { z } from "zod";
import type { OwnAuditEvent } from "../../observability/own-audit-trail.ts";
import type { GraphqlBuilder } from "../builder.ts";
import { addConnection } from "../connection.ts";
import type { GraphqlDeps } from "../deps.ts";
import { sessionOf, validArgs } from "../validate.ts";

const PAGE_SIZE_DEFAULT = 20;
const PAGE_SIZE_MAX = 100;

/** GET /auth/audit's query rules under GraphQL's argument names. */
const PageArgs = z.object({
  first: z.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  after: z.uuid().optional(),
});

/** Query.auditEvents: the caller's own security events, newest first (GET /auth/audit). */
export function addAuditEvents(builder: GraphqlBuilder, deps: GraphqlDeps) {
  const AuditEvent = builder.objectRef<OwnAuditEvent>("AuditEvent").implement({
    description: "A security event of the account (login.succeeded, password.changed, session.revoked, ...)",
    fields: (t) => ({
      id: t.exposeID("id"),
      type: t.exposeString("type"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      sessionId: t.exposeString("sessionId", { nullable: true }),
      ipAddress: t.exposeString("ipAddress", { nullable: true }),
      userAgent: t.exposeString("userAgent", { nullable: true }),
      payload: t.expose("payload", { type: "JSON", description: "Details of the event; never a secret" }),
      actorId: t.string({
        nullable: true,
        description: "admin.* events: the administrator who acted (only with AUDIT_SHOW_ADMIN=true)",
        resolve: (event) => event.actorId ?? null,
      }),
    }),
  });
  const Connection = addConnection(builder, "AuditEvent", AuditEvent);

  builder.queryField("auditEvents", (t) =>
    t.field({
      type: Connection,
      authScopes: { signedIn: true },
      args: { first: t.arg.int({ description: `Events per page (1-${PAGE_SIZE_MAX}, default ${PAGE_SIZE_DEFAULT})` }), after: t.arg.string() },
      resolve: async (_root, args, context) => {
        const { first, after } = validArgs(PageArgs, { first: args.first ?? undefined, after: args.after ?? undefined });
        const { events, nextCursor } = await deps.ownAuditTrail.page(sessionOf(context).user.id, { limit: first, after });
        return { nodes: events, endCursor: nextCursor };
      },
    }),
  );
}
