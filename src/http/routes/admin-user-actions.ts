import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { toPublicUser } from "../../auth/users.ts";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf, AdminUserSchema, adminUserJson, Instant, UserIdParam } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import { createRouter } from "../router.ts";
import { createSignIn } from "../sign-in.ts";
import { AUTHENTICATED, jsonBody, jsonResponse, plainText, problem, PublicUserSchema, TokenPairSchema } from "../schemas.ts";
import type { CookieJar } from "../cookies.ts";

export type AdminUserActionDeps = Pick<Services, "admin" | "sessions" | "accessTokens"> & {
  cookies: CookieJar;
  recent: MiddlewareHandler<AppEnv>;
};

const tags = ["admin"];
const Reason = plainText(500);

const banUser = createRoute({
  method: "post",
  path: "/{id}/ban",
  tags,
  summary: "Ban a user: every session and refresh token ends at once on every instance; sign-in is refused until the ban lifts",
  security: AUTHENTICATED,
  request: {
    params: UserIdParam,
    body: jsonBody(
      z.object({
        reason: Reason.openapi({ description: "Why; kept for administrators (the audit trail), never shown to the user" }),
        expiresAt: Instant.optional().openapi({ description: "When the ban lifts by itself; omitted: until an unban" }),
      }),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ user: AdminUserSchema }), "Banned"),
    400: problem("VALIDATION_FAILED (also an expiresAt not in the future) or INVALID_JSON"),
    ...ADMIN_REFUSALS,
    404: problem("NOT_FOUND"),
    409: problem("LAST_ADMIN"),
  },
});

const unbanUser = createRoute({
  method: "post",
  path: "/{id}/unban",
  tags,
  summary: "Lift a user's ban",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(z.object({ user: AdminUserSchema }), "Not banned"), ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

const sendPasswordReset = createRoute({
  method: "post",
  path: "/{id}/password-reset",
  tags,
  summary: "Mail the user a password-reset link",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 204: { description: "Mailed (in the background)" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

const impersonate = createRoute({
  method: "post",
  path: "/{id}/impersonate",
  tags,
  summary: "A session as the user, for at most IMPERSONATION_TTL; its tokens carry act.sub = the administrator",
  security: AUTHENTICATED,
  request: { params: UserIdParam, body: jsonBody(z.object({ reason: Reason.openapi({ description: "Why; audited on both accounts" }) })) },
  responses: {
    200: jsonResponse(
      TokenPairSchema.extend({
        user: PublicUserSchema,
        sessionExpiresAt: z.iso.datetime().openapi({ description: "The session's hard end: refreshing does not extend it" }),
      }),
      "Tokens of the impersonation session (no cookie is set: the administrator's own browser session stays theirs)",
    ),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    ...ADMIN_REFUSALS,
    403: problem("FORBIDDEN, CSRF_REJECTED, CANNOT_IMPERSONATE_ADMIN, ACCOUNT_BANNED or ACCOUNT_PENDING_DELETION"),
    404: problem("NOT_FOUND"),
  },
});

/** POST /auth/admin/users/{id}/ban, /unban, /password-reset and /impersonate. */
export function createAdminUserActionRoutes(deps: AdminUserActionDeps) {
  const { admin, recent } = deps;
  const { tokenPair } = createSignIn(deps);
  return createRouter()
    .openapi({ ...banUser, middleware: [recent] }, async (c) => {
      const { reason, expiresAt } = c.req.valid("json");
      const user = await admin.bans.ban(c.req.valid("param").id, { reason, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) }, actorOf(c));
      return c.json({ user: adminUserJson(user, admin.now()) }, 200);
    })
    .openapi({ ...unbanUser, middleware: [recent] }, async (c) => {
      const user = await admin.bans.unban(c.req.valid("param").id, actorOf(c));
      return c.json({ user: adminUserJson(user, admin.now()) }, 200);
    })
    .openapi({ ...sendPasswordReset, middleware: [recent] }, async (c) => {
      await admin.users.sendPasswordReset(c.req.valid("param").id, actorOf(c));
      return c.body(null, 204);
    })
    .openapi({ ...impersonate, middleware: [recent] }, async (c) => {
      const { ipAddress, userAgent } = auditContext(c);
      const { user, issued } = await admin.impersonation.start(c.req.valid("param").id, c.req.valid("json").reason, actorOf(c), { ipAddress, userAgent });
      const tokens = await tokenPair(issued.session, user, issued.refreshToken);
      return c.json({ ...tokens, user: toPublicUser(user), sessionExpiresAt: issued.session.expiresAt.toISOString() }, 200);
    });
}
