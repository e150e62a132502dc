import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem } from "../schemas.ts";

export type AuditRouteDeps = Pick<Services, "audit"> & { requireAuth: MiddlewareHandler<AppEnv> };

const PAGE_SIZE_DEFAULT = 20;
const PAGE_SIZE_MAX = 100;

const AuditEventSchema = z
  .object({
    id: z.uuid(),
    type: z.string().openapi({ example: "login.succeeded", description: "The event type, e.g. login.succeeded, password.changed, session.revoked" }),
    createdAt: z.iso.datetime(),
    sessionId: z.uuid().nullable(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "Details of the event; never a secret" }),
  })
  .openapi("AuditEvent");

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
export function createAuditRoutes({ audit, requireAuth }: AuditRouteDeps) {
  const app = createRouter();
  app.use(requireAuth);
  return app.openapi(listAuditEvents, async (c) => {
    const { user } = c.get("auth");
    const { limit, after } = c.req.valid("query");
    // One more than asked tells whether a next page exists without a count query.
    const rows = await audit.listForUser(user.id, { limit: limit + 1, after });
    const page = rows.slice(0, limit);
    return c.json(
      {
        events: page.map((event) => ({
          id: event.id,
          type: event.type,
          createdAt: event.createdAt.toISOString(),
          sessionId: event.sessionId,
          ipAddress: event.ipAddress,
          userAgent: event.userAgent,
          payload: event.payload,
        })),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      },
      200,
    );
  });
}
