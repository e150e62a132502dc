import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem, SessionFields, sessionJson } from "../schemas.ts";

export type SessionRouteDeps = Pick<Services, "ownSessions"> & { requireAuth: MiddlewareHandler<AppEnv> };

const SessionSchema = z
  .object({ ...SessionFields, current: z.boolean().openapi({ description: "This request's own session" }) })
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
    403: problem("FORBIDDEN (an impersonation session may end itself only), FORBIDDEN_FOR_API_KEY, or CSRF_REJECTED"),
    404: problem("NOT_FOUND: no such session of the caller's"),
  },
});

const revokeOtherSessions = createRoute({
  method: "delete",
  path: "/",
  tags: ["sessions"],
  summary: "End every session of the caller except the current one (a sensitive action: needs a recent authentication)",
  security: AUTHENTICATED,
  responses: {
    204: { description: "Ended" },
    401: problem("UNAUTHENTICATED, or STEP_UP_REQUIRED (the last authentication is older than STEP_UP_MAX_AGE: POST /auth/reauthenticate)"),
    403: problem("CSRF_REJECTED"),
  },
});

/** GET, DELETE /auth/sessions and DELETE /auth/sessions/{id}. */
export function createSessionRoutes({ ownSessions, requireAuth }: SessionRouteDeps) {
  const app = createRouter();
  app.use(requireAuth);
  return app
    .openapi(listSessions, async (c) => {
      const listed = await ownSessions.list(c.get("auth"));
      return c.json({ sessions: listed.map((session) => ({ ...sessionJson(session), current: session.current })) }, 200);
    })
    .openapi(revokeSession, async (c) => {
      await ownSessions.revoke(c.get("auth"), c.req.valid("param").id, auditContext(c));
      return c.body(null, 204);
    })
    .openapi(revokeOtherSessions, async (c) => {
      await ownSessions.revokeOthers(c.get("auth"), auditContext(c));
      return c.body(null, 204);
    });
}
