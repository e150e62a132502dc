import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import type { MiddlewareHandler } from "hono";
import { toPublicUser } from "../../auth/users.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { AUTHENTICATED, Email, jsonBody, jsonResponse, PresentedPassword, problem, PublicUserSchema, Username } from "../schemas.ts";

export type MeRouteDeps = Pick<Services, "profile" | "accountDeletion" | "audit"> & {
  cookies: CookieJar;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

const getMe = createRoute({
  method: "get",
  path: "/",
  tags: ["account"],
  summary: "The signed-in user and session",
  security: AUTHENTICATED,
  responses: {
    200: jsonResponse(
      z.object({
        user: PublicUserSchema,
        session: z.object({ id: z.uuid(), createdAt: z.iso.datetime(), expiresAt: z.iso.datetime() }),
      }),
      "The user and the session this request was authenticated with",
    ),
    401: problem("UNAUTHENTICATED"),
  },
});

const updateMe = createRoute({
  method: "put",
  path: "/",
  tags: ["account"],
  summary: "Change username or email",
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z
        .object({ username: Username.nullable().optional(), email: Email.optional(), currentPassword: PresentedPassword.optional() })
        .refine((body) => body.username !== undefined || body.email !== undefined, {
          message: "Give username or email to change",
        }),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ user: PublicUserSchema }), "The updated user; a new email is unverified"),
    400: problem("VALIDATION_FAILED (changing email requires currentPassword) or INVALID_JSON"),
    401: problem("UNAUTHENTICATED or INVALID_CREDENTIALS (wrong current password)"),
    403: problem("CSRF_REJECTED"),
    409: problem("EMAIL_TAKEN or USERNAME_TAKEN"),
  },
});

const deleteMe = createRoute({
  method: "delete",
  path: "/",
  tags: ["account"],
  summary: "Delete the account, its sessions and credentials",
  security: AUTHENTICATED,
  request: { body: jsonBody(z.object({ password: PresentedPassword })) },
  responses: {
    204: { description: "Deleted; every token of the user stops working at once" },
    202: jsonResponse(
      z.object({ deletionScheduledAt: z.iso.datetime() }),
      "With ACCOUNT_DELETION_GRACE > 0: scheduled; sessions ended, logins refused, a mail carries a cancel token",
    ),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    401: problem("UNAUTHENTICATED or INVALID_CREDENTIALS (wrong password)"),
    403: problem("CSRF_REJECTED"),
  },
});

/** GET, PUT, DELETE /auth/me. */
export function createMeRoutes({ profile, accountDeletion, audit, cookies, requireAuth, limits }: MeRouteDeps) {
  const app = createRouter();
  app.use(requireAuth);
  return app
    .openapi(getMe, (c) => {
      const { user, session } = c.get("auth");
      return c.json(
        {
          user: toPublicUser(user),
          session: { id: session.id, createdAt: session.createdAt.toISOString(), expiresAt: session.expiresAt.toISOString() },
        },
        200,
      );
    })
    .openapi(updateMe, async (c) => {
      const { user } = c.get("auth");
      const change = c.req.valid("json");
      // Re-authentication is a credential check like a login: same per-account limit.
      const reauthenticates = change.email !== undefined && change.email !== user.email;
      if (reauthenticates) await limits.consume(c, "loginAccount", user.email);
      const updated = await profile.update(user, change);
      if (reauthenticates) await limits.reset("loginAccount", user.email);
      const changed = { emailChanged: updated.email !== user.email, usernameChanged: updated.username !== user.username };
      await audit.record("user.updated", { userId: user.id, payload: changed }, auditContext(c));
      return c.json({ user: toPublicUser(updated) }, 200);
    })
    .openapi(deleteMe, async (c) => {
      const { user } = c.get("auth");
      await limits.consume(c, "loginAccount", user.email);
      const deletesAt = await accountDeletion.request(user, c.req.valid("json").password);
      await limits.reset("loginAccount", user.email);
      cookies.clear(c);
      if (deletesAt === null) {
        await audit.record("user.deleted", { userId: user.id }, auditContext(c));
        return c.body(null, 204);
      }
      await audit.record("account.deletion_scheduled", { userId: user.id, payload: { deletesAt } }, auditContext(c));
      return c.json({ deletionScheduledAt: deletesAt.toISOString() }, 202);
    });
}
