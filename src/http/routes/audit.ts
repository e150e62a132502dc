import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { OwnAuditEvent } from "../../observability/own-audit-trail.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem } from "../schemas.ts";

export type AuditRouteDeps = Pick<Services, "ownAuditTrail"> & { requireAuth: MiddlewareHandler<AppEnv> };

const PAGE_SIZE_DEFAULT = 20;
const PAGE_SIZE_MAX = 100;

export const AuditEventSchema = z
  .object({
    id: z.uuid(),
    type: z.string().openapi({ example: "login.succeeded", description: "The event type, e.g. login.succeeded, password.changed, session.revoked" }),
    createdAt: z.iso.datetime(),
    sessionId: z.uuid().nullable(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "Details of the event; never a secret" }),
    actorId: z.uuid().nullable().optional().openapi({
      description: "admin.* events: the administrator who acted (only with AUDIT_SHOW_ADMIN=true; otherwise absent, and the event's session, address and user agent, which are the administrator's, are null)",
    }),
  })
  .openapi("AuditEvent");

/** An event as JSON (dates as ISO strings). */
export function auditEventJson(event: OwnAuditEvent) {
  return { ...event, createdAt: event.createdAt.toISOString() };
}

const listAuditEvents = createRoute({
  method: "get",
  path: "/",
  tags: ["account"],
  summary: "The caller's own security events, newest first, a page at a time",
  security: AUTHENTICATED,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT).openapi({ description: `Events per page (1-${PAGE_SIZE_MAX})` }),
      after: z.uuid().optional().openapi({ description: "The previous page's `nextCursor`" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({
        events: z.array(AuditEventSchema),
        nextCursor: z.uuid().nullable().openapi({ description: "Pass as `after` for the next page; null on the last page" }),
      }),
      "A page of events",
    ),
    400: problem("VALIDATION_FAILED"),
    401: problem("UNAUTHENTICATED"),
  },
});

/** GET /auth/audit: what happened to the caller's account (sign-ins, password and email changes, revocations, ...). */
export function createAuditRoutes({ ownAuditTrail, requireAuth }: AuditRouteDeps) {
  const app = createRouter();
  app.use(requireAuth);
  return app.openapi(listAuditEvents, async (c) => {
    const { limit, after } = c.req.valid("query");
    const { events, nextCursor } = await ownAuditTrail.page(c.get("auth").user.id, { limit, after });
    return c.json({ events: events.map(auditEventJson), nextCursor }, 200);
  });
}
