import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem } from "../schemas.ts";

export type SessionRouteDeps = Pick<Services, "sessions" | "audit"> & { requireAuth: MiddlewareHandler<AppEnv> };

const SessionSchema = z
  .object({
    id: z.uuid(),
    createdAt: z.iso.datetime(),
    lastActiveAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().openapi({ description: "This request's own session" }),
  })
  .openapi("Session");

const listSessions = createRoute({
  method: "get",
  path: "/",
  tags: ["sessions"],
  summary: "The caller's live sessions, most recently active first",
  security: AUTHENTICATED,
  responses: {
    200: jsonResponse(z.object({ sessions: z.array(SessionSchema) }), "Sessions"),
    401: problem("UNAUTHENTICATED"),
  },
});

const revokeSession = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["sessions"],
  summary: "End one of the caller's sessions",
  security: AUTHENTICATED,
  // Any string is accepted here and a malformed id answers 404 like someone else's: no enumeration, no hints.
  request: { params: z.object({ id: z.string().openapi({ format: "uuid" }) }) },
  responses: {
    204: { description: "Ended; its tokens stop working at once on every instance" },
    401: problem("UNAUTHENTICATED"),
    403: problem("CSRF_REJECTED"),
    404: problem("NOT_FOUND: no such session of the caller's"),
  },
});

const revokeOtherSessions = createRoute({
  method: "delete",
  path: "/",
  tags: ["sessions"],
  summary: "End every session of the caller except the current one",
  security: AUTHENTICATED,
  responses: {
    204: { description: "Ended" },
    401: problem("UNAUTHENTICATED"),
    403: problem("CSRF_REJECTED"),
  },
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET, DELETE /auth/sessions and DELETE /auth/sessions/{id}. */
export function createSessionRoutes({ sessions, audit, requireAuth }: SessionRouteDeps) {
  const app = createRouter();
  app.use(requireAuth);
  return app
    .openapi(listSessions, async (c) => {
      const { user, session: current } = c.get("auth");
      const listed = await sessions.list(user.id);
      return c.json(
        {
          sessions: listed.map((session) => ({
            id: session.id,
            createdAt: session.createdAt.toISOString(),
            lastActiveAt: session.lastActiveAt.toISOString(),
            expiresAt: session.expiresAt.toISOString(),
            ipAddress: session.ipAddress,
            userAgent: session.userAgent,
            current: session.id === current.id,
          })),
        },
        200,
      );
    })
    .openapi(revokeSession, async (c) => {
      const { user } = c.get("auth");
      const { id } = c.req.valid("param");
      if (!UUID.test(id) || !(await sessions.revoke(user.id, id))) throw new AppError("NOT_FOUND");
      await audit.record("session.revoked", { userId: user.id, sessionId: id }, auditContext(c));
      return c.body(null, 204);
    })
    .openapi(revokeOtherSessions, async (c) => {
      const { user, session } = c.get("auth");
      const ended = await sessions.revokeAll(user.id, session.id);
      for (const sessionId of ended) await audit.record("session.revoked", { userId: user.id, sessionId }, auditContext(c));
      return c.body(null, 204);
    });
}
