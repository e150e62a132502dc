import { createRoute, z } from "@hono/zod-openapi";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, Instant } from "../admin-schemas.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, plainText, problem } from "../schemas.ts";
import { withActor } from "../../observability/own-audit-trail.ts";
import { AuditEventSchema, auditEventJson } from "./audit.ts";

export type AdminAuditRouteDeps = Pick<Services, "audit">;

const PAGE_SIZE_MAX = 100;

const listEvents = createRoute({
  method: "get",
  path: "/",
  tags: ["admin"],
  summary: "Every account's security events, newest first, filtered, a page at a time",
  security: AUTHENTICATED,
  request: {
    query: z.object({
      userId: z.uuid().optional().openapi({ description: "Events about this account" }),
      actorId: z.uuid().optional().openapi({ description: "admin.* events by this administrator" }),
      type: plainText(64).optional().openapi({ description: "One event type, e.g. admin.user_banned" }),
      from: Instant.optional().openapi({ description: "Events at or after this time" }),
      to: Instant.optional().openapi({ description: "Events before this time" }),
      limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20),
      cursor: z.uuid().optional().openapi({ description: "The previous page's `nextCursor`" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({
        events: z.array(AuditEventSchema.extend({ userId: z.uuid().nullable(), actorId: z.uuid().nullable() })),
        nextCursor: z.uuid().nullable(),
      }),
      "A page of events",
    ),
    400: problem("VALIDATION_FAILED"),
    ...ADMIN_REFUSALS,
  },
});

/** GET /auth/admin/audit. */
export function createAdminAuditRoutes({ audit }: AdminAuditRouteDeps) {
  return createRouter().openapi(listEvents, async (c) => {
    const { limit, cursor, from, to, ...filter } = c.req.valid("query");
    const range = { from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) };
    // One more than asked tells whether a next page exists without a count query.
    const rows = await audit.listAll({ ...filter, ...range }, { limit: limit + 1, after: cursor });
    const page = rows.slice(0, limit);
    return c.json(
      {
        events: page.map((event) => ({ ...auditEventJson(withActor(event, true)), userId: event.userId, actorId: event.actorId })),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      },
      200,
    );
  });
}
