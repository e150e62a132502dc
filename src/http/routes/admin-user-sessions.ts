import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf, UserIdParam } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem, SessionFields, sessionJson } from "../schemas.ts";

export type AdminUserSessionDeps = Pick<Services, "admin"> & { recent: MiddlewareHandler<AppEnv> };

const tags = ["admin"];

const listSessions = createRoute({
  method: "get",
  path: "/{id}/sessions",
  tags,
  summary: "A user's live sessions, most recently active first",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(z.object({ sessions: z.array(z.object(SessionFields)) }), "Sessions"), ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

const revokeSessions = createRoute({
  method: "delete",
  path: "/{id}/sessions",
  tags,
  summary: "End every session of a user, on every instance at once",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 204: { description: "Ended" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

const revokeSession = createRoute({
  method: "delete",
  path: "/{id}/sessions/{sid}",
  tags,
  summary: "End one session of a user",
  security: AUTHENTICATED,
  request: { params: UserIdParam.extend({ sid: z.string().openapi({ format: "uuid", description: "The session's id" }) }) },
  responses: { 204: { description: "Ended" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND: no such user, or no such session of theirs") },
});

/** GET, DELETE /auth/admin/users/{id}/sessions and DELETE /auth/admin/users/{id}/sessions/{sid}. */
export function createAdminUserSessionRoutes({ admin, recent }: AdminUserSessionDeps) {
  return createRouter()
    .openapi(listSessions, async (c) => {
      const sessions = await admin.sessions.list(c.req.valid("param").id);
      return c.json({ sessions: sessions.map(sessionJson) }, 200);
    })
    .openapi({ ...revokeSessions, middleware: [recent] }, async (c) => {
      await admin.sessions.revokeAll(c.req.valid("param").id, actorOf(c));
      return c.body(null, 204);
    })
    .openapi({ ...revokeSession, middleware: [recent] }, async (c) => {
      const { id, sid } = c.req.valid("param");
      await admin.sessions.revoke(id, sid, actorOf(c));
      return c.body(null, 204);
    });
}
